"""Fixtures of the controller tests: a CI app repository on the git daemon, a controller process."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "updater"))  # updater_helpers (images)

from controller_proc import WORKFLOW, AppRepo, ControllerProc, pipeline

from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.store import resources as resource_store


@pytest.fixture
def app_repo(git_server: Any, tmp_path: Path) -> AppRepo:
    url = git_server.bare(f"hooks-{uuid.uuid4().hex[:8]}")
    work = Repo.clone(url, tmp_path / "work")
    work.run("checkout", "-q", "-B", "main")
    (work.path / ".github/workflows").mkdir(parents=True)
    (work.path / ".github/workflows/ci.yml").write_text(WORKFLOW)
    repo = AppRepo(url, work)
    repo.commit("v0")
    return repo


@pytest.fixture
def controller(shipway_home: Path, app_repo: AppRepo) -> Iterator[ControllerProc]:
    shipway_home.mkdir(parents=True, exist_ok=True)
    ctl = ControllerProc(shipway_home)
    resource_store.apply(ctl.store, parse_text(pipeline("app", app_repo.url), "pipeline.yaml"))
    try:
        yield ctl
    finally:
        ctl.kill()
        ctl.store.close()
