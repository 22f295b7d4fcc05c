"""Helpers for CI engine tests: a git repository with workflows, and a runner."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from ci_images import run_buildah
from upstream_repo import Upstream

from shipway.ci.runinfo import RunInfo
from shipway.ci.service import run_workflow
from shipway.ci.syntax.github import parse_workflow
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store.db import Store, open_store


def make_repo(path: Path, files: dict[str, str]) -> tuple[Repo, str]:
    repo = Repo.init(path)
    for name, text in files.items():
        p = path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    repo.add_all()
    return repo, repo.commit("init")


MakeRepo = Callable[[Path, dict[str, str]], tuple[Repo, str]]


@pytest.fixture
def new_repo() -> MakeRepo:
    """``new_repo(path, files)``: a git repository with one commit of ``files``."""
    return make_repo


@pytest.fixture
def store(shipway_home: Path) -> Store:
    return open_store(Settings(home=shipway_home, database_url=""))


Runner = Callable[..., tuple[dict[str, Any], list[str]]]


@pytest.fixture
def run_wf(tmp_path: Path, store: Store) -> Runner:
    """Run workflow text against a repo made of ``files``; return (record, log lines)."""

    def run(
        workflow: str,
        files: dict[str, str] | None = None,
        *,
        secrets: dict[str, str] | None = None,
        vars: dict[str, str] | None = None,
        event: str = "push",
        payload: dict[str, Any] | None = None,
        job: str | None = None,
        **extra: Any,
    ) -> tuple[dict[str, Any], list[str]]:
        n = len(list(tmp_path.glob("run-*")))
        src = tmp_path / ("src" if n == 0 else f"src-{n}")
        _repo, commit = make_repo(src, {"README": "hello\n", **(files or {})})
        wf = parse_workflow(textwrap.dedent(workflow), "ci.yml")
        lines: list[str] = []
        info = RunInfo(
            run_id=extra.pop("run_id", None) or f"r{len(list(tmp_path.glob('run-*')))}",
            repo=str(src),
            commit=commit,
            ref="refs/heads/main",
            event=event,
            payload=payload or {"ref": "refs/heads/main"},
            base_dir=tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}",
            secrets=secrets or {},
            vars=vars or {},
            job_filter=job,
            on_line=lines.append,
            repository=extra.pop("repository", "test/repo"),
            **extra,
        )
        record = run_workflow(store, wf, info)
        return record, lines

    return run


@pytest.fixture(scope="session")
def busybox_image(podman: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """``localhost/ci-busybox:1`` in the test podman store: busybox and its applets, no pull."""
    import shutil

    root = tmp_path_factory.mktemp("busybox-rootfs")
    (root / "bin").mkdir()
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    buildah = partial(run_buildah, podman)

    ctr = buildah("from", "scratch")
    buildah("copy", ctr, str(root), "/")
    buildah("run", "--isolation", "chroot", ctr, "--", "/bin/busybox", "--install", "-s", "/bin")
    buildah("config", "--env", "PATH=/usr/local/bin:/usr/bin:/bin", ctr)
    buildah("commit", "-q", "--rm", ctr, "localhost/ci-busybox:1")
    return "localhost/ci-busybox:1"


@pytest.fixture(scope="session")
def kube_fake(podman: dict[str, str], busybox_image: str) -> Any:
    """The Kubernetes API fake with its podman kubelet (Pods really run), for the session."""
    from fake_kube.server import FakeKube

    fake = FakeKube(podman_env=podman)
    yield fake
    fake.close()


@pytest.fixture
def upstream(tmp_path: Path, git_server: Any) -> Callable[[str], Upstream]:
    """``upstream("acme/name")``: a fresh repository of that name on the git daemon."""

    def make(name: str) -> Upstream:
        return Upstream(tmp_path / "up" / name, git_server.bare(name))

    return make
