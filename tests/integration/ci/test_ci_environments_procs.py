"""Deployment environments and token permissions through ``shipway ci`` processes.

Environment secrets and vars override the repository's for that job only and
stay masked; ``deploymentBranches`` refuses a ref; a job needing a review
waits until ``shipway ci approve`` (another process) decides, also across a
``shipway ci resume``; the ``GITHUB_TOKEN Permissions`` group and the job
record's ``permissions`` and ``environment``. SQLite store in one SHIPWAY_HOME.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_procs import Shared, log_has, make_checkout, record, wait_for

from shipway.store import ci_coord, runs

WORKFLOW = """\
on: push
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "build sees key=${{ secrets.KEY }} target=${{ vars.TARGET }}"
  deploy:
    needs: build
    runs-on: ubuntu-latest
    permissions:
      contents: read
      deployments: write
    environment:
      name: ${{ vars.ENV_NAME }}
      url: https://${{ steps.out.outputs.host }}/
    steps:
      - id: out
        run: |
          echo "deploy sees key=${{ secrets.KEY }} target=${{ vars.TARGET }} env=$KEY_ENV"
          echo "key length ${#KEY_ENV}"
          echo "host=${{ vars.TARGET }}.example" >> "$GITHUB_OUTPUT"
        env:
          KEY_ENV: ${{ secrets.KEY }}
"""

ENVIRONMENTS = """\
environments:
  production:
    vars: {TARGET: prod}
    secretsFile: prod.secrets
    deploymentBranches: [main, "release/*"]
  gated:
    vars: {TARGET: gated}
    requiredReviewers: [alice]
"""


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Shared]:
    s = Shared(home=tmp_path / "home")
    try:
        yield s
    finally:
        s.stop_all()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    cwd = make_checkout(tmp_path / "src", WORKFLOW, {"envs.yml": ENVIRONMENTS})
    (tmp_path / "prod.secrets").write_text("KEY=production-key-42\n")
    (cwd / "envs.yml").rename(tmp_path / "envs.yml")
    return cwd


def _args(tmp: Path, env_name: str) -> list[str]:
    return ["run", "--environments", str(tmp / "envs.yml"), "--secret", "KEY=repo-key-17",
            "--var", "TARGET=repo", "--var", f"ENV_NAME={env_name}"]  # fmt: skip


def _job(rec: dict[str, object], jid: str) -> dict[str, object]:
    jobs = rec["jobs"]
    assert isinstance(jobs, list)
    found: dict[str, object] = next(j for j in jobs if j["id"] == jid)
    return found


def test_environment_overrides_masks_and_records(
    shared: Shared, checkout: Path, tmp_path: Path
) -> None:
    done = shared.run(checkout, *_args(tmp_path, "production"), "-o", "json")
    assert done.returncode == 0, done.stderr
    rec = json.loads(done.stdout)
    log = done.stderr
    assert "build sees key=*** target=repo" in log
    assert "deploy sees key=*** target=prod env=***" in log
    assert "key length 17" in log  # the environment's secret, not the repository's (11)
    assert "production-key-42" not in log and "repo-key-17" not in log
    assert "production-key-42" not in done.stdout
    deploy = _job(rec, "deploy")
    assert deploy["environment"] == {"name": "production", "url": "https://prod.example/"}
    assert "environment" not in _job(rec, "build")
    perms = deploy["permissions"]
    assert isinstance(perms, dict)
    assert perms["deployments"] == "write" and perms["contents"] == "read"
    assert perms["packages"] == "none"
    build_perms = _job(rec, "build")["permissions"]
    assert isinstance(build_perms, dict) and build_perms["deployments"] == "none"
    line = "[deploy] GITHUB_TOKEN Permissions: Contents: read, Deployments: write, Metadata: read"
    assert line in log.splitlines()
    stored = shared.run(checkout, "logs", rec["id"])
    assert "GITHUB_TOKEN Permissions" in stored.stdout and "production-key-42" not in stored.stdout


def test_undefined_environment_has_no_rules(shared: Shared, checkout: Path, tmp_path: Path) -> None:
    done = shared.run(checkout, *_args(tmp_path, "preview"), "-o", "json")
    assert done.returncode == 0, done.stderr
    deploy = _job(json.loads(done.stdout), "deploy")
    assert deploy["environment"] == {"name": "preview", "url": "https://repo.example/"}


def test_branch_not_allowed_to_deploy(shared: Shared, checkout: Path, tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "checkout", "-q", "-b", "feature/x"], cwd=checkout, check=True)
    done = shared.run(checkout, *_args(tmp_path, "production"), "-o", "json")
    assert done.returncode == 1
    rec = json.loads(done.stdout)
    assert rec["conclusion"] == "failure"
    assert _job(rec, "build")["result"] == "success"
    deploy = _job(rec, "deploy")
    assert deploy["result"] == "failure" and deploy["steps"] == []
    assert ('Branch "feature/x" is not allowed to deploy to production due to environment '
            "protection rules.") in done.stderr  # fmt: skip
    assert "deploy sees" not in done.stderr


def _waiting(shared: Shared) -> list[dict[str, object]]:
    store = shared.store()
    try:
        return ci_coord.waiting(store)
    finally:
        store.close()


@pytest.mark.parametrize("reject", [False, True])
def test_review_from_another_process(
    shared: Shared, checkout: Path, tmp_path: Path, reject: bool
) -> None:
    log = tmp_path / "run.log"
    proc = shared.start(checkout, *_args(tmp_path, "gated"), log=log)
    found = wait_for("the deploy job to wait for a review", lambda: _waiting(shared))
    run_id = str(found[0]["run"])
    assert found[0]["environment"] == "gated"
    # the store says waiting before the log line is flushed: wait for both
    wait_for("the review line in the log", log_has(log, "Waiting for review: gated needs approval"))
    assert proc.poll() is None and "deploy sees" not in log.read_text()
    decision = ["--reject"] if reject else []
    approve = shared.run(checkout, "approve", run_id[:8], "--environment", "GATED",
                         "--comment", "looks fine", "--reviewer", "alice", *decision)  # fmt: skip
    assert approve.returncode == 0, approve.stderr
    rec = record(proc)
    deploy = _job(rec, "deploy")
    if reject:
        assert rec["conclusion"] == "failure" and deploy["result"] == "failure"
        assert "Deployment to gated was rejected by alice: looks fine" in log.read_text()
        assert "deploy sees" not in log.read_text()
    else:
        assert rec["conclusion"] == "success" and deploy["result"] == "success"
        assert "Deployment to gated was approved by alice: looks fine" in log.read_text()
    store = shared.store()
    try:
        reasons = [e["reason"] for e in runs.events(store) if e["subject"].startswith(f"{run_id}/")]
    finally:
        store.close()
    assert reasons == ["ReviewRejected" if reject else "ReviewApproved", "WaitingForReview"]
    again = shared.run(checkout, "approve", run_id, "--environment", "gated")
    assert again.returncode != 0 and "is waiting for a review" in again.stderr


def test_review_survives_a_dead_run_and_resume(
    shared: Shared, checkout: Path, tmp_path: Path
) -> None:
    proc = shared.start(checkout, *_args(tmp_path, "gated"), log=tmp_path / "run.log")
    found = wait_for("the deploy job to wait for a review", lambda: _waiting(shared))
    run_id = str(found[0]["run"])
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    approve = ("approve", run_id, "--environment", "gated", "--reviewer", "alice")
    assert shared.run(checkout, *approve).returncode == 0
    # no --environments: the run's stored definitions (rules and vars, no secrets) apply
    resumed = shared.run(checkout, "resume", run_id, "--secret", "KEY=repo-key-17", "-o", "json")
    assert resumed.returncode == 0, resumed.stderr
    rec = json.loads(resumed.stdout)
    assert _job(rec, "deploy")["environment"] == {"name": "gated", "url": "https://gated.example/"}
    assert "deploy sees key=*** target=gated" in resumed.stderr
    assert "build sees" not in resumed.stderr  # the build job finished before the process died
