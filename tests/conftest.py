"""Shared fixtures: real servers on free loopback ports, torn down after.

- ``registry``: a CNCF distribution registry (``docker-registry`` from apt).
- ``git_server``: a ``git daemon`` with push enabled; ``git_server.bare(name)``
  makes a bare repository and returns its ``git://`` URL.
- ``podman``: the environment (``CONTAINERS_CONF`` …) for podman/buildah here.
- ``shipway_home``: a fresh ``$SHIPWAY_HOME`` for one test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipway.git.repo import Repo
from shipway.runtime import podman_env, services


@dataclass
class GitServer:
    base: Path
    port: int

    def bare(self, name: str) -> str:
        path = self.base / f"{name}.git"
        if not path.exists():
            repo = Repo.init(path, bare=True)
            repo.run("symbolic-ref", "HEAD", "refs/heads/main")
        return self.url(name)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"


@dataclass
class Registry:
    service: services.Service

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.service.port}"

    @property
    def url(self) -> str:
        return self.service.url


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def registry(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    if shutil.which("docker-registry") is None and not Path("/usr/bin/docker-registry").exists():
        pytest.fail("docker-registry is not installed: run scripts/setup.sh")
    svc = services.registry(run_dir, tmp_path_factory.mktemp("registry-data"))
    yield Registry(svc)
    services.stop(run_dir, "registry")


@pytest.fixture(scope="session")
def git_server(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    base = tmp_path_factory.mktemp("git-repos")
    svc = services.git_daemon(run_dir, base)
    yield GitServer(base=base, port=svc.port)
    services.stop(run_dir, "git-daemon")


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> dict[str, str]:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run scripts/setup.sh")
    return podman_env.podman_env(tmp_path_factory.mktemp("podman"), [registry.host])


@pytest.fixture(autouse=True)
def _no_inherited_terminal_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a pipe gets them (kubectl's: never fitted) unless a test sets ``COLUMNS``.

    An xdist worker imports GNU readline, which exports ``COLUMNS=80`` and ``LINES=24``
    into the environment; the CLI fits tables to ``$COLUMNS`` (and its subprocesses would
    inherit it), so without this a test's output would depend on how pytest was started.
    """
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture
def shipway_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SHIPWAY_HOME", str(home))
    # the CLI's login contexts: never the developer's own ~/.config/shipway
    monkeypatch.setenv("SHIPWAY_CONFIG", str(tmp_path / "cli-config.yaml"))
    for name in ("SHIPWAY_SERVER", "SHIPWAY_AUTH_TOKEN", "SHIPWAY_CORE", "SHIPWAY_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SHIPWAY_DATABASE_URL", raising=False)
    return home
