"""The controller refreshes ApplicationSets on forge webhooks and on its periodic pass.

Real git daemon, the forge fake, the controller's HTTP app with signed
GitHub webhook bodies: a ``pull_request`` event refreshes the set whose
pullRequest generator lists that repository at once (its Application
appears, then goes when the pull request closes); a ``push`` refreshes a set
whose git generator reads the repository; the periodic pass picks up a new
set and prunes the Applications of a deleted one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from appset_helpers import TARGET, Env, bare_of, configmap, put
from fastapi.testclient import TestClient

from forge_server import TOKEN, ForgeServer
from shipway.auth import accounts
from shipway.controller.core import Controller
from shipway.git.forge import open_forge
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration
SECRET = "s3cret"


@pytest.fixture
def controller(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Controller, TestClient]]:
    monkeypatch.setenv("SHIPWAY_FORGE_TOKEN", TOKEN)
    settings = Settings(home=env.settings.home, webhook_secret=SECRET,
                        controller_url="http://controller.test")  # fmt: skip
    ctl = Controller(settings, env.store)
    ctl.start_workers()
    try:
        _rec, token = accounts.issue_token(
            env.store, accounts.create(env.store, "reader", None, role="readonly").name
        )
        client = TestClient(create_app(ctl), headers={"Authorization": f"Bearer {token}"})
        yield ctl, client
    finally:
        ctl.wait_idle()
        ctl.shutdown()


def _post(client: TestClient, event: str, data: dict[str, Any]) -> Any:
    body = json.dumps(data).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post("/hooks/forge", content=body,
                       headers={"X-GitHub-Event": event, "X-Hub-Signature-256": sig})  # fmt: skip


def _apply(env: Env, spec: dict[str, Any], name: str = "set") -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
           "metadata": {"name": name}, "spec": spec}  # fmt: skip
    store_resources.apply(env.store, parse_text(yaml.safe_dump(doc), f"{name}.yaml"))


def _template(url: str, name: str, path: str, rev: str = "HEAD") -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"source": {"repoURL": url, "path": path, "targetRevision": rev},
                     "destination": {"name": TARGET, "namespace": "default"}}}  # fmt: skip


def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _names(env: Env) -> list[str]:
    return sorted(a.name for a in store_resources.list_kind(env.store, "Application", None))


def test_pull_request_webhook_refreshes_at_once(
    env: Env, repo: tuple[str, Repo], forge: ForgeServer, controller: Any
) -> None:
    _ctl, client = controller
    url, work = repo
    put(work, {"apps/web/cm.yaml": configmap("web")})
    forge.add_repo("team/web", bare_of(url))
    work.run("checkout", "-q", "-b", "feature", "main")
    (work.path / "apps/web/extra.txt").write_text("x")
    head = _push_branch(work, "feature")
    gh = open_forge("github", forge.api("github"), "team/web", TOKEN)
    _apply(env, {"generators": [{"pullRequest": {
        "github": {"owner": "team", "repo": "web", "api": forge.api("github")},
        "requeueAfterSeconds": 3600}}],
        "template": _template(url, "pr-{{number}}", "apps/web", "{{head_sha}}")})  # fmt: skip
    pr = gh.create("feature", "main", "Feature", "")
    event = {"action": "opened", "number": pr.number,
             "pull_request": {"number": pr.number, "head": {"ref": "feature", "sha": head},
                              "base": {"ref": "main"}},
             "repository": {"clone_url": url, "html_url": "https://github.com/team/web",
                            "full_name": "team/web"},
             "sender": {"login": "octocat"}}  # fmt: skip
    assert _post(client, "pull_request", event).status_code == 202
    _until(lambda: _names(env) == [f"pr-{pr.number}"])
    app = store_resources.get(env.store, "Application", f"pr-{pr.number}")
    assert app.spec["source"]["targetRevision"] == head

    gh.close(pr.number)
    closed = {**event, "action": "closed"}
    assert _post(client, "pull_request", closed).status_code == 202
    _until(lambda: _names(env) == [])


def _push_branch(work: Repo, branch: str) -> str:
    work.add_all()
    sha = work.commit(f"on {branch}")
    work.push("origin", f"HEAD:refs/heads/{branch}")
    work.run("checkout", "-q", "main")
    return sha


def test_push_webhook_and_periodic_pass(env: Env, repo: tuple[str, Repo], controller: Any) -> None:
    ctl, client = controller
    url, work = repo
    before = put(work, {"apps/a/cm.yaml": configmap("a")})
    _apply(env, {"generators": [{"git": {"repoURL": url, "directories": [{"path": "apps/*"}]}}],
                 "template": _template(url, "{{path.basename}}", "{{path}}")})  # fmt: skip
    assert ctl.appsets.poll() == 1  # a new set is due at once
    ctl.lanes.wake("appset")
    _until(lambda: _names(env) == ["a"])
    assert ctl.appsets.poll() == 0  # not due again before its interval

    after = put(work, {"apps/b/cm.yaml": configmap("b")})
    push = {"ref": "refs/heads/main", "before": before, "after": after, "commits": [],
            "repository": {"clone_url": url, "html_url": "https://github.com/team/cfg"},
            "sender": {"login": "octocat"}}  # fmt: skip
    assert _post(client, "push", push).status_code == 202
    _until(lambda: _names(env) == ["a", "b"])

    store_resources.delete(env.store, "ApplicationSet", "set", "argocd")
    ctl.appsets.poll()
    _until(lambda: _names(env) == [])
