"""The user's own workflow style runs unchanged: docker build/run/login/tag/push.

The seed document's CI workflow calls the docker CLI and pushes to ghcr.io.
Here podman serves the Docker API and a registry alias sends ``ghcr.io`` to
the real local registry; the run is shipway's CI engine, for real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.ci.service import run_event
from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.runtime import docker_api, podman_env, services
from shipway.settings import Settings
from shipway.store.db import open_store
from shipway.store.runs import get_run

WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
    - uses: actions/checkout@v3
    - name: Build Docker image
      run: docker build -t myapp:${{ github.sha }} .
    - name: Run tests
      run: docker run --rm myapp:${{ github.sha }} sh /app/test.sh
    - name: Push to registry
      run: |
        echo ${{ secrets.GITHUB_TOKEN }} | docker login ghcr.io -u ${{ github.actor }} --password-stdin
        docker tag myapp:${{ github.sha }} ghcr.io/username/myapp:${{ github.sha }}
        docker push ghcr.io/username/myapp:${{ github.sha }}
"""


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    st = Settings(home=tmp_path / "home", database_url="")
    yield st
    services.stop(st.run_dir, docker_api.SERVICE)


def _base_image(settings: Settings, tmp: Path) -> None:
    """``localhost/base:1``: busybox in the podman store the Docker API serves (no pull)."""
    env = {**os.environ, **podman_env.podman_env(settings.home / "podman")}
    root = tmp / "rootfs" / "bin"
    root.mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "busybox")
    ctr = subprocess.run(
        ["buildah", "from", "scratch"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(
        ["buildah", "copy", ctr, str(tmp / "rootfs"), "/"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [
            "buildah",
            "run",
            "--isolation",
            "chroot",
            ctr,
            "--",
            "/bin/busybox",
            "--install",
            "-s",
            "/bin",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["buildah", "commit", "-q", "--rm", ctr, "localhost/base:1"],
        env=env,
        check=True,
        capture_output=True,
    )


def _source_repo(path: Path) -> tuple[Repo, str]:
    repo = Repo.init(path)
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    (path / "Dockerfile").write_text(
        "FROM localhost/base:1\nCOPY test.sh /app/test.sh\nRUN echo built-by-run > /app/marker\n"
    )
    (path / "test.sh").write_text("grep -q built-by-run /app/marker && echo 'tests passed'\n")
    repo.add_all()
    return repo, repo.commit("app")


def test_seed_workflow_pushes_through_the_alias(
    settings: Settings, tmp_path: Path, registry: object
) -> None:
    host = registry.host  # type: ignore[attr-defined]
    _base_image(settings, tmp_path)
    repo, sha = _source_repo(tmp_path / "src")
    env, path = docker_api.step_env(settings, {"ghcr.io": host}, [])
    env["PATH"] = os.pathsep.join([*path, os.environ["PATH"]])
    store = open_store(settings)
    lines: list[str] = []
    (record,) = run_event(
        store,
        repo=str(repo.path),
        commit=sha,
        ref="refs/heads/main",
        event="push",
        payload={"ref": "refs/heads/main", "after": sha},
        workdir=tmp_path / "work",
        vars={},
        secrets={"GITHUB_TOKEN": "t0ken-x"},
        env=env,
        on_line=lines.append,
    )
    assert record["conclusion"] == "success", "\n".join(lines[-30:])
    assert RegistryClient(host).list_tags("username/myapp") == [sha]
    text = "\n".join(lines)
    assert "tests passed" in text
    assert "registry alias: ghcr.io/username/myapp" in text  # the shim said what it did
    _, stored_log = get_run(store, record["id"])
    assert "t0ken-x" not in stored_log and "t0ken-x" not in text
