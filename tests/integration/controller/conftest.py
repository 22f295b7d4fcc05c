"""Fixtures of the controller tests: a CI app repository on the git daemon, a controller process."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "updater"))  # updater_helpers (images)

from controller_proc import ControllerProc

from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.store import resources as resource_store

WORKFLOW = """\
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "built $GITHUB_SHA"
"""


def pipeline(name: str, url: str, apps: str = "[web]") -> str:
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: {name}}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  applications: {apps}
"""


class AppRepo:
    def __init__(self, url: str, work: Repo) -> None:
        self.url = url
        self.work = work

    def commit(self, text: str, push: bool = True) -> str:
        (self.work.path / "app.txt").write_text(text)
        self.work.run("add", "-A")
        self.work.run("commit", "-q", "-m", text)
        if push:
            self.work.run("push", "-q", "origin", "HEAD:main")
        return self.work.run("rev-parse", "HEAD").strip()

    def update(self, after: str, before: str = "0" * 40) -> dict[str, str]:
        return {"ref": "refs/heads/main", "before": before, "after": after}


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
