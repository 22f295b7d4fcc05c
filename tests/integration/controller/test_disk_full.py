"""A run that fills the disk: failed (not stuck), workspace gone, the release says why.

The controller's work directory is a real 4 MiB tmpfs; a step writes more than fits.
A second test makes the adapter boundary itself raise ENOSPC (the checkout).
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path
from typing import Any

import pytest
from controller_proc import AppRepo, ControllerProc

from shipway.ci import service as ci_service
from shipway.controller.core import Controller
from shipway.controller.hooks import RefUpdate
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import releases, runs
from shipway.store import resources as resource_store
from shipway.store.db import open_store

pytestmark = pytest.mark.integration

FILL = """\
on: push
jobs:
  fill:
    runs-on: ubuntu-latest
    steps:
      - run: dd if=/dev/zero of=big bs=1M count=16
      - run: echo never
"""


@pytest.fixture
def small_work_dir(shipway_home: Path) -> Any:
    work = shipway_home / "work"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(work)], check=True)
    try:
        yield work
    finally:
        subprocess.run(["umount", "-l", str(work)], check=False)


def test_a_step_that_fills_the_disk_fails_the_run_and_names_the_error(
    small_work_dir: Path, controller: ControllerProc, app_repo: AppRepo
) -> None:
    (app_repo.work.path / ".github/workflows/ci.yml").write_text(FILL)
    sha = app_repo.commit("fill")
    ctl = controller.start()
    assert ctl.git_hook(app_repo.url, [app_repo.update(sha)]).status_code == 202
    (run,) = ctl.wait_runs(sha, 1)
    ctl.wait_idle()
    assert run["conclusion"] == "failure"
    assert ci_service.unfinished_runs(ctl.store) == []
    assert not list(small_work_dir.glob("ci/event-*/*/jobs"))  # the job workspace is gone
    assert not list(small_work_dir.glob("ci/event-*/source"))  # and the checkout
    (release,) = ctl.releases_of(sha)
    ci = release.stage("ci")
    assert ci.status == "Failed"
    assert "No space left on device" in ci.message, ci.message
    assert release.status == "Failed"


def test_enospc_at_the_adapter_boundary_ends_the_release_not_a_stuck_run(
    shipway_home: Path, app_repo: AppRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(Settings(home=shipway_home))
    resource_store.apply(store, parse_text(_pipeline(app_repo.url), "p.yaml"))
    sha = app_repo.work.run("rev-parse", "HEAD").strip()
    real = ci_service.run_workflow

    def full_disk(store_: Any, workflow: Any, info: Any, **kw: Any) -> Any:
        # the run is stored as in progress, then the disk fills under the engine
        runs.save_run(store_, {"id": info.run_id, "commit": info.commit, "event": "push",
                               "conclusion": None, "jobs": []}, "", info.commit)  # fmt: skip
        runs.put_state(store_, "ci", info.run_id, "running", {"resume": {
            "commit": info.commit, "base_dir": str(info.base_dir)}})  # fmt: skip
        info.base_dir.mkdir(parents=True, exist_ok=True)
        raise OSError(errno.ENOSPC, "No space left on device", str(info.base_dir / "log"))

    monkeypatch.setattr(ci_service, "run_workflow", full_disk)
    ctl = Controller(Settings(home=shipway_home), store)
    monkeypatch.setattr(ctl.ci, "step_env", lambda pipe: {"PATH": "/usr/bin:/bin"})
    pipe = resource_store.get(store, "Pipeline", "app")
    ctl.ci.run_push(pipe, RefUpdate("refs/heads/main", "0" * 40, sha))
    monkeypatch.setattr(ci_service, "run_workflow", real)

    (record,) = [r for r in runs.list_runs(store) if r.get("commit") == sha]
    assert record["conclusion"] == "failure"
    assert "No space left on device" in record["error"]
    assert ci_service.unfinished_runs(store) == []  # nothing for a restart to resume
    assert not list((shipway_home / "work" / "ci").glob("event-*"))
    (release,) = releases.for_commit(store, sha)
    assert release.stage("ci").status == "Failed"
    assert "No space left on device" in release.stage("ci").message
    store.close()


def _pipeline(url: str) -> str:
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: app}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  applications: [web]
"""
