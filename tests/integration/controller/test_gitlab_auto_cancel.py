"""A newer GitLab pipeline of a ref auto-cancels the older one, as GitLab's default does.

A real controller process on loopback, the git daemon, the host executor: two
pushes in quick succession to ``main`` with a slow job. The slow job of the
first commit waits for a file the test writes (or fails after a minute), so a
run that ends ``canceled`` was cancelled, and one that ends ``success`` ran on
past the newer pipeline's start. ``interruptible: true`` (GitLab's
``conservative`` mode): the first pipeline ends canceled, naming the newer sha
in its record and events, and a restarted controller leaves it canceled;
``interruptible: false``, or a started non-interruptible job: it runs to the
end; ``on_new_commit: interruptible`` cancels the interruptible job only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from controller_proc import AppRepo, ControllerProc

from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.store import resources as resource_store
from shipway.store import runs

pytestmark = pytest.mark.integration

SLOW = """\
  script:
    - touch "$MARKS/started-$CI_COMMIT_SHA"
    - if grep -q slow app.txt; then i=0; until test -f "$MARKS/release"; do
        i=$((i+1)); test $i -lt 600 || exit 3; sleep 0.1; done; fi
    - echo "finished $CI_COMMIT_SHORT_SHA"
"""
PREP = "prep:\n  stage: build\n  interruptible: false\n  script: [echo prepared]\n"


def _gitlab_ci(interruptible: bool, prep: bool = False, mode: str = "") -> str:
    head = f"workflow:\n  auto_cancel:\n    on_new_commit: {mode}\n" if mode else ""
    head += "stages: [build, test]\n" + (PREP if prep else "")
    return head + f"slow:\n  stage: test\n  interruptible: {str(interruptible).lower()}\n" + SLOW


def _pipeline(url: str, marks: Path) -> str:
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: app}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  runner: {{executor: host}}
  vars: {{MARKS: "{marks}"}}
"""


def _repo(git_server: Any, tmp_path: Path, ci: str) -> AppRepo:
    url = git_server.bare(f"gl-cancel-{tmp_path.name}")
    work = Repo.clone(url, tmp_path / "work")
    work.run("checkout", "-q", "-B", "main")
    (work.path / ".gitlab-ci.yml").write_text(ci)
    repo = AppRepo(url, work)
    repo.commit("base")
    return repo


def _wait(what: str, check: Any, ctl: ControllerProc, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen\n{ctl.log()[-4000:]}")


def _events_of(ctl: ControllerProc, run_id: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in ctl.events(reason) if run_id in str(e.get("subject"))]


def _two_pushes(ctl: ControllerProc, repo: AppRepo, marks: Path) -> tuple[str, str]:
    """Push a slow commit, wait until its job runs, then push a fast one."""
    base = repo.work.run("rev-parse", "HEAD").strip()
    first = repo.commit("slow")
    assert ctl.git_hook(repo.url, [repo.update(first, base)]).status_code == 202
    _wait("the first pipeline's job starting", (marks / f"started-{first}").exists, ctl)
    second = repo.commit("fast")
    assert ctl.git_hook(repo.url, [repo.update(second, first)]).status_code == 202
    return first, second


def _start(shipway_home: Path, repo: AppRepo, marks: Path) -> ControllerProc:
    shipway_home.mkdir(parents=True, exist_ok=True)
    ctl = ControllerProc(shipway_home)
    resource_store.apply(ctl.store, parse_text(_pipeline(repo.url, marks), "pipeline.yaml"))
    return ctl.start()


def test_a_newer_pipeline_cancels_the_older_interruptible_one_and_a_restart_keeps_it(
    git_server: Any, tmp_path: Path, shipway_home: Path
) -> None:
    repo, marks = _repo(git_server, tmp_path, _gitlab_ci(True)), tmp_path / "marks"
    marks.mkdir()
    ctl = _start(shipway_home, repo, marks)
    try:
        first, second = _two_pushes(ctl, repo, marks)

        (newer,) = ctl.wait_runs(second, 1)
        (older,) = ctl.wait_runs(first, 1)

        assert newer["conclusion"] == "success", newer
        assert older["conclusion"] == "cancelled", older
        assert older["gitlab_status"] == "canceled"
        assert [(j["name"], j["status"]) for j in older["jobs"]] == [("slow", "canceled")]
        assert older["superseded_by"] == second
        _record, log = runs.get_run(ctl.store, older["id"])
        assert "auto-canceling the pipeline" in log and second[:12] in log
        assert "finished" not in log
        (event,) = _events_of(ctl, older["id"], "AutoCanceled")
        assert second in event["message"]
        ctl.kill()  # a restarted controller does not run the canceled pipeline again
        ctl.start()
        ctl.wait_idle()
        (marks / "release").touch()
        (again,) = ctl.wait_runs(first, 1)
        assert again["conclusion"] == "cancelled" and again["jobs"] == older["jobs"]
        assert runs.get_state(ctl.store, "ci", older["id"])[0] == "done"  # type: ignore[index]
    finally:
        ctl.kill()
        ctl.store.close()


@pytest.mark.parametrize(
    ("ci", "shield"),
    [
        (_gitlab_ci(False), "slow"),  # the running job is not interruptible
        (_gitlab_ci(True, prep=True), "prep"),  # a non-interruptible job has run
    ],
    ids=["not-interruptible", "started-non-interruptible-job"],
)
def test_the_older_pipeline_runs_to_the_end_when_it_is_not_interruptible(
    ci: str, shield: str, git_server: Any, tmp_path: Path, shipway_home: Path
) -> None:
    repo, marks = _repo(git_server, tmp_path, ci), tmp_path / "marks"
    marks.mkdir()
    ctl = _start(shipway_home, repo, marks)
    try:
        first, second = _two_pushes(ctl, repo, marks)
        (newer,) = ctl.wait_runs(second, 1)
        assert newer["conclusion"] == "success", newer
        older_id = _wait("the first run's id", lambda: _run_id(ctl, first), ctl)
        (event,) = _wait("the older run's Superseded event",
                         lambda: _events_of(ctl, older_id, "Superseded"), ctl)  # fmt: skip
        assert second in event["message"] and f"({shield})" in event["message"]

        (marks / "release").touch()  # the older job goes on, and ends as it would have
        (older,) = ctl.wait_runs(first, 1)

        assert older["conclusion"] == "success", older
        assert all(j["status"] == "success" for j in older["jobs"])
        assert "superseded_by" not in older
        _record, log = runs.get_run(ctl.store, older["id"])
        assert f"finished {first[:8]}" in log
        assert not _events_of(ctl, older_id, "AutoCanceled")
    finally:
        ctl.kill()
        ctl.store.close()


def test_on_new_commit_interruptible_cancels_only_the_interruptible_jobs(
    git_server: Any, tmp_path: Path, shipway_home: Path
) -> None:
    ci = _gitlab_ci(True, prep=True, mode="interruptible")
    repo, marks = _repo(git_server, tmp_path, ci), tmp_path / "marks"
    marks.mkdir()
    ctl = _start(shipway_home, repo, marks)
    try:
        first, second = _two_pushes(ctl, repo, marks)

        (older,) = ctl.wait_runs(first, 1)

        assert older["conclusion"] == "cancelled", older
        assert [(j["name"], j["status"]) for j in older["jobs"]] == [
            ("prep", "success"),
            ("slow", "canceled"),
        ]
        assert older["superseded_by"] == second
        (newer,) = ctl.wait_runs(second, 1)
        assert newer["conclusion"] == "success"
    finally:
        ctl.kill()
        ctl.store.close()


def _run_id(ctl: ControllerProc, commit: str) -> str | None:
    for run_id in _unfinished(ctl):
        found = runs.get_state(ctl.store, "ci", run_id)
        if found and (found[1].get("resume") or {}).get("commit") == commit:
            return run_id
    return None


def _unfinished(ctl: ControllerProc) -> list[str]:
    from shipway.ci import service

    return service.unfinished_runs(ctl.store)
