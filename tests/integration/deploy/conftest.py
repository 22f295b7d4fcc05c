"""Fixtures for the reconciler's real-server tests: a busybox httpd image in the
registry fixture (built with buildah, no pull), a config repository on the git
daemon fixture, and a shipway home whose podman pods are removed afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "promote"))  # private_git (git over HTTP)

from fake_kube.server import FakeKube
from shipway import cluster
from shipway.cluster.podman import PodmanTarget
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store.db import Store, open_store

_CMD = 'echo "$MSG" > /www/msg.txt; exec httpd -f -p 8080 -h /www'


def _buildah(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        ["buildah", *args], env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def httpd_images(registry, podman, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``{"v1": ref, "v2": ref}``: busybox httpd images serving ``index.html`` = tag."""
    root = tmp_path_factory.mktemp("httpd-rootfs")
    (root / "bin").mkdir()
    (root / "www").mkdir()
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    refs = {}
    for tag in ("v1", "v2"):
        (root / "www" / "index.html").write_text(tag + "\n")
        c = _buildah(podman, "from", "scratch")
        try:
            _buildah(podman, "copy", c, str(root), "/")
            _buildah(
                podman,
                "run",
                "--isolation",
                "chroot",
                c,
                "--",
                "/bin/busybox",
                "--install",
                "-s",
                "/bin",
            )
            _buildah(podman, "config", "--cmd", f"/bin/sh -c '{_CMD}'", c)
            ref = f"{registry.host}/deploy-web:{tag}"
            _buildah(podman, "commit", "-q", c, ref)
            _buildah(podman, "push", "--tls-verify=false", ref, f"docker://{ref}")
        finally:
            _buildah(podman, "rm", c)
        refs[tag] = ref
    return refs


@dataclass
class Env:
    settings: Settings
    store: Store
    target: PodmanTarget


@pytest.fixture
def deploy_env(shipway_home: Path, registry, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("SHIPWAY_INSECURE_REGISTRIES", registry.host)
    settings = Settings()
    store = open_store(settings)
    target = engine.local_target(settings)
    try:
        yield Env(settings, store, target)
    finally:
        target.clean()
        store.close()


@pytest.fixture
def config_repo(git_server, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, Repo]:
    """An empty config repository on the git daemon and a clone to commit from."""
    name = "config-" + request.node.name.replace("[", "-").replace("]", "")
    url = git_server.bare(name)
    work = Repo.init(tmp_path / "config-work")
    work.run("remote", "add", "origin", url)
    return url, work


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    """The Kubernetes API fake on loopback; shipway's cluster clients are closed after."""
    server = FakeKube()
    yield server
    cluster.close_all()
    server.close()
