"""Fixtures for ApplicationSet tests: a store, an in-memory deploy target, a config repo on
the real git daemon, and the in-process forge fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import appset_helpers
import pytest

from forge_server import ForgeServer
from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy.appset import engine
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store.db import open_store

TARGET = appset_helpers.TARGET


@pytest.fixture
def env(shipway_home: Path) -> Iterator[appset_helpers.Env]:
    settings = Settings()
    store = open_store(settings)
    target = MemoryTarget(TARGET)
    cluster.register(TARGET, target)
    try:
        yield appset_helpers.Env(settings, store, target, engine.ForgeCache())
    finally:
        cluster.register(TARGET, None)
        store.close()


@pytest.fixture
def repo(git_server, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, Repo]:
    """A config repository on the git daemon and a clone to commit from."""
    name = "appset-" + request.node.name.replace("[", "-").replace("]", "")
    url = git_server.bare(name)
    work = Repo.init(tmp_path / "work")
    work.run("remote", "add", "origin", url)
    return url, work


@pytest.fixture(autouse=True)
def _git_base(git_server) -> None:
    appset_helpers.BASE[:] = [git_server.base]


@pytest.fixture
def forge() -> Iterator[ForgeServer]:
    server = ForgeServer()
    yield server
    server.stop()
