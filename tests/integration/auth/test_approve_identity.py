"""Through the controller, an environment approval is decided by the logged-in account.

A real ``shipway ci run`` (host executor) waits in the store for a review of
``production``; the controller process serves the same store. The reviewer
is whoever the token belongs to: ``--reviewer`` is refused, an account that
the environment does not list gets exit 4, the listed one approves and the
run goes on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth_controller import Controller, cli, running

pytestmark = pytest.mark.integration

WORKFLOW = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: echo "deploying as approved"
"""

ENVIRONMENTS = """\
environments:
  production:
    requiredReviewers: [alice]
"""

RBAC_CM = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-rbac-cm, namespace: argocd}
data:
  policy.csv: |
    p, role:dev, ci-runs, get, */*, allow
    p, role:dev, ci-runs, approve, -/production, allow
"""


@pytest.fixture
def ctl(shipway_home: Path) -> Iterator[Controller]:
    with running(shipway_home) as c:
        yield c


def _checkout(path: Path) -> Path:
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "deploy.yml").write_text(WORKFLOW)
    (path / "environments.yaml").write_text(ENVIRONMENTS)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run([*git, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(path), "commit", "-qm", "deploy"], check=True)
    return path


def _waiting(ctl: Controller) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {ctl.admin_token}"}
    resp = httpx.get(ctl.url + "/api/ci/approvals", headers=headers)
    found: list[dict[str, object]] = resp.json()
    return found


def test_reviewer_is_the_authenticated_account(ctl: Controller, tmp_path: Path) -> None:
    (tmp_path / "rbac.yaml").write_text(RBAC_CM)
    assert cli("apply", "-f", str(tmp_path / "rbac.yaml")).returncode == 0
    tokens = {}
    for name in ("alice", "bob"):
        assert cli("account", "create", name, "--no-password", "--role", "dev").returncode == 0
        tokens[name] = cli("account", "token", "create", name).stdout.strip()
    checkout = _checkout(tmp_path / "app")
    run = subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.main", "--core", "ci", "run",
         "--environments", "environments.yaml", "-o", "json"],
        cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (waiting := _waiting(ctl)):
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.2)
        run_id = str(waiting[0]["run"])
        assert waiting[0]["environment"] == "production" and waiting[0]["reviewers"] == ["alice"]

        assert cli("login", ctl.url, "--token", tokens["bob"]).returncode == 0
        bob = cli("ci", "approve", run_id, "--environment", "production")
        assert bob.returncode == 4, bob.stderr
        assert "bob is not a required reviewer; who may review: alice" in bob.stderr

        assert cli("login", ctl.url, "--token", tokens["alice"]).returncode == 0
        forged = cli("ci", "approve", run_id, "--environment", "production", "--reviewer", "x")
        assert forged.returncode == 2 and "--reviewer is refused" in forged.stderr
        ok = cli("ci", "approve", run_id, "--environment", "production", "--comment", "go",
                 "-o", "json")  # fmt: skip
        assert ok.returncode == 0, ok.stderr
        decided = json.loads(ok.stdout)["items"]
        assert [(d["reviewer"], d["state"], d["comment"]) for d in decided] == [
            ("alice", "approved", "go")]  # fmt: skip
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert json.loads(out)["conclusion"] == "success"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
