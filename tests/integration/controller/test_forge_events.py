"""Forge webhooks into the controller: pull requests run CI on the merge commit, tags run CI.

Real git daemon, real git, the real CI engine on the host executor; the
webhook bodies are the forges' documented shapes, sent through the
controller's HTTP app with their signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from forge_server import TOKEN, ForgeServer
from shipway.auth import accounts
from shipway.controller.core import Controller
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import resources as resource_store
from shipway.store import runs
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

SECRET = "s3cret"

PR_WORKFLOW = """\
on:
  pull_request:
    branches: [main]
jobs:
  facts:
    runs-on: ubuntu-latest
    outputs:
      parents: ${{ steps.f.outputs.parents }}
    steps:
      - uses: actions/checkout@v4
        with: {fetch-depth: 0}  # the default shallow clone would hide the parents
      - id: f
        run: |
          echo "parents=$(git rev-list --parents -n1 HEAD)" >> "$GITHUB_OUTPUT"
          echo "ref=$GITHUB_REF head=$GITHUB_HEAD_REF base=$GITHUB_BASE_REF sha=$GITHUB_SHA"
          test -f feature.txt && test -f main-only.txt
"""

TAG_WORKFLOW = """\
on:
  push:
    tags: ["v*"]
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: echo "releasing $GITHUB_REF_NAME"
"""


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def setup(
    git_server: Any, shipway_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Store, Repo, str, Controller]]:
    url = git_server.bare(f"pr-app-{tmp_path.name}")
    work = Repo.clone(url, tmp_path / "work")
    for rel, text in {
        ".github/workflows/pr.yml": PR_WORKFLOW,
        ".github/workflows/tag.yml": TAG_WORKFLOW,
        "main-only.txt": "base\n",
    }.items():
        (work.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (work.path / rel).write_text(text)
    work.run("add", "-A")
    work.run("commit", "-q", "-m", "base")
    work.run("push", "-q", "origin", "HEAD:main")
    settings = Settings(
        home=shipway_home, webhook_secret=SECRET, controller_url="http://controller.test"
    )
    store = open_store(settings)
    resource_store.apply(store, parse_text(_pipeline(url), "pipeline.yaml"))
    controller = Controller(settings, store)
    # CI steps here need no Docker API; keep the test from starting podman's service.
    monkeypatch.setattr(controller.ci, "step_env", lambda pipe: {"PATH": "/usr/bin:/bin"})
    controller.start_workers()
    try:
        _rec, token = accounts.issue_token(
            store, accounts.create(store, "reader", None, role="readonly").name
        )
        client = TestClient(create_app(controller), headers={"Authorization": f"Bearer {token}"})
        yield client, store, work, url, controller
    finally:
        controller.wait_idle()
        controller.shutdown()


def _pipeline(url: str, forge: str = "") -> str:
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: app}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  runner: {{executor: host}}  # the steps use git: pull requests run on the host (opt-in)
{forge}"""


def _pr_body(url: str, action: str, number: int, head_ref: str, head_sha: str) -> bytes:
    return json.dumps(
        {
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"ref": head_ref, "sha": head_sha},
                "base": {"ref": "main"},
            },
            "repository": {"clone_url": url, "full_name": "team/app"},
            "sender": {"login": "dev"},
        }
    ).encode()


def _post(client: TestClient, event: str, body: bytes, signature: str | None = None) -> Any:
    headers = {"X-GitHub-Event": event, "X-Hub-Signature-256": signature or _sign(body)}
    return client.post("/hooks/forge", content=body, headers=headers)


def _wait_runs(store: Store, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [r for r in runs.list_runs(store) if r.get("conclusion")]
        if len(done) >= count:
            return done
        time.sleep(0.2)
    raise AssertionError(f"{count} finished CI runs expected, have {runs.list_runs(store)}")


def _branch(work: Repo, name: str, file: str, text: str) -> str:
    work.run("checkout", "-q", "-b", name, "main")
    (work.path / file).write_text(text)
    work.run("add", "-A")
    work.run("commit", "-q", "-m", f"change {file}")
    work.run("push", "-q", "origin", f"HEAD:{name}")
    return work.run("rev-parse", "HEAD").strip()


def test_pull_request_runs_on_the_merge_commit(setup: Any) -> None:
    client, store, work, url, _controller = setup
    main_before = work.run("rev-parse", "HEAD").strip()
    head = _branch(work, "feature", "feature.txt", "new\n")
    # main moves on after the branch was cut: the merge must hold both sides
    work.run("checkout", "-q", "main")
    (work.path / "later.txt").write_text("later\n")
    work.run("add", "-A")
    work.run("commit", "-q", "-m", "later on main")
    work.run("push", "-q", "origin", "HEAD:main")
    main_tip = work.run("rev-parse", "HEAD").strip()
    assert main_tip != main_before

    resp = _post(client, "pull_request", _pr_body(url, "opened", 7, "feature", head))

    assert resp.status_code == 202, resp.text
    assert resp.json()["accepted"] is True
    (run,) = _wait_runs(store, 1)
    assert run["event"] == "pull_request"
    assert run["conclusion"] == "success", run
    merge, *parents = run["jobs"][0]["outputs"]["parents"].split()
    assert parents == [main_tip, head]
    assert run["commit"] == merge
    _record, log = runs.get_run(store, run["id"])
    assert f"ref=refs/pull/7/merge head=feature base=main sha={merge}" in log


def test_pull_request_with_conflict_runs_nothing_and_says_so(setup: Any) -> None:
    client, store, work, url, _controller = setup
    head = _branch(work, "clash", "main-only.txt", "branch side\n")
    work.run("checkout", "-q", "main")
    (work.path / "main-only.txt").write_text("main side\n")
    work.run("commit", "-q", "-am", "main side")
    work.run("push", "-q", "origin", "HEAD:main")

    resp = _post(client, "pull_request", _pr_body(url, "opened", 8, "clash", head))
    assert resp.status_code == 202

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [e for e in runs.events(store) if e.get("reason") == "PullRequestCIFailed"]
        if found:
            break
        time.sleep(0.2)
    assert found, runs.events(store)
    assert "does not merge cleanly into main" in found[0]["message"]
    assert runs.list_runs(store) == []


def test_labeled_pull_request_is_filtered_by_types(setup: Any) -> None:
    client, store, work, url, controller = setup
    head = _branch(work, "quiet", "feature.txt", "x\n")
    _post(client, "pull_request", _pr_body(url, "labeled", 9, "quiet", head))
    _post(client, "pull_request", _pr_body(url, "synchronize", 9, "quiet", head))
    assert controller.wait_idle()  # both events fully handled
    (run,) = _wait_runs(store, 1)  # only synchronize is in the default types
    assert run["event"] == "pull_request"
    _record, log = runs.get_run(store, run["id"])
    assert "refs/pull/9/merge" in log


def test_tag_push_runs_tag_workflows(setup: Any) -> None:
    client, store, work, url, _controller = setup
    work.run("tag", "v1.2.0")
    work.run("push", "-q", "origin", "v1.2.0")
    sha = work.run("rev-parse", "HEAD").strip()
    body = json.dumps(
        {
            "ref": "refs/tags/v1.2.0",
            "before": "0" * 40,
            "after": sha,
            "repository": {"clone_url": url},
            "commits": [],
        }
    ).encode()

    assert _post(client, "push", body).status_code == 202

    (run,) = _wait_runs(store, 1)
    assert run["workflow"] == ".github/workflows/tag.yml" or run["file"].endswith("tag.yml")
    assert run["conclusion"] == "success"
    _record, log = runs.get_run(store, run["id"])
    assert "releasing v1.2.0" in log


def test_pull_request_results_go_back_as_commit_statuses(
    setup: Any, git_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store, work, url, controller = setup
    forge = ForgeServer()
    try:
        forge.add_repo("team/app", git_server.base / f"{url.rsplit('/', 1)[1]}")
        monkeypatch.setenv("CI_FORGE_TOKEN", TOKEN)
        spec = f"  forge: {{kind: gitea, apiURL: '{forge.api('gitea')}', project: team/app, "
        spec += "tokenEnv: CI_FORGE_TOKEN}\n"
        resource_store.apply(store, parse_text(_pipeline(url, spec), "pipeline.yaml"))
        head = _branch(work, "checked", "feature.txt", "y\n")

        _post(client, "pull_request", _pr_body(url, "opened", 11, "checked", head))
        assert controller.wait_idle()

        (run,) = _wait_runs(store, 1)
        got = [(sha, body["context"], body["state"]) for _k, _p, sha, body in forge.state.statuses]
        assert got == [
            (head, "shipway/ci", "pending"),
            (head, f"{run['workflow']} (pull_request)", "success"),
            (head, "shipway/ci", "success"),
        ]
        link = forge.state.statuses[1][3]["target_url"]
        assert link == f"http://controller.test/api/ci/runs/{run['id']}"
        api = client.get(f"/api/ci/runs/{run['id']}")
        assert api.status_code == 200 and api.json()["conclusion"] == "success"
        assert "refs/pull/11/merge" in client.get(f"/api/ci/runs/{run['id']}/log").text
        assert client.get("/api/ci/runs/nope").status_code == 404
    finally:
        forge.stop()


def test_a_forge_that_refuses_does_not_change_ci(setup: Any) -> None:
    client, store, work, url, controller = setup
    spec = "  forge: {kind: github, apiURL: 'http://127.0.0.1:9', project: team/app}\n"
    resource_store.apply(store, parse_text(_pipeline(url, spec), "pipeline.yaml"))
    head = _branch(work, "offline", "feature.txt", "z\n")
    _post(client, "pull_request", _pr_body(url, "opened", 12, "offline", head))
    assert controller.wait_idle()
    (run,) = _wait_runs(store, 1)
    assert run["conclusion"] == "success"
    failed = [e for e in runs.events(store) if e.get("reason") == "CommitStatusFailed"]
    assert len(failed) == 3 and "cannot reach http://127.0.0.1:9" in failed[0]["message"]


def test_bad_signature_and_bad_body_are_refused(setup: Any) -> None:
    client, store, _work, url, _controller = setup
    body = _pr_body(url, "opened", 1, "x", "a" * 40)
    assert _post(client, "pull_request", body, signature="sha256=" + "0" * 64).status_code == 401
    bad = b"not json"
    assert _post(client, "pull_request", bad).status_code == 400
    resp = client.post("/hooks/forge", content=body)
    assert resp.status_code == 400
    assert "X-GitHub-Event" in resp.json()["detail"]
    assert runs.list_runs(store) == []
