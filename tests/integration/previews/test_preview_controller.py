"""Previews through the controller: a pull request webhook, its pull_request workflow building
the head's image for real (buildah in a host-runner step, pushed to the registry), the preview
deployed once CI succeeded, its URL on the pull request, and the close webhook tearing it down.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
from typing import Any

import pytest
from fastapi.testclient import TestClient

from forge_server import TOKEN
from shipway.auth import accounts
from shipway.controller.core import Controller
from shipway.model.preview import preview_name
from shipway.model.resources import parse_text
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import previews as store_previews
from shipway.store import resources as resource_store

pytestmark = pytest.mark.integration
SECRET = "s3cret"

WORKFLOW = """\
on:
  pull_request:
    branches: [main]
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: sh build.sh "${{ github.event.pull_request.head.sha }}" "${{ vars.REGISTRY }}"
"""

BUILD = """\
set -e
sha="$1"; registry="$2"; tag=$(echo "$sha" | cut -c1-8)
root=$(mktemp -d); mkdir -p "$root/bin" "$root/www"
cp /bin/busybox "$root/bin/busybox"; echo "$sha" > "$root/www/index.html"
c=$(buildah from scratch)
buildah copy "$c" "$root" / >/dev/null
buildah run --isolation chroot "$c" -- /bin/busybox --install -s /bin
buildah config --cmd "/bin/sh -c 'exec httpd -f -p 8080 -h /www'" "$c"
buildah commit -q "$c" "$registry/preview-web:$tag" >/dev/null
buildah push --tls-verify=false "$registry/preview-web:$tag" "docker://$registry/preview-web:$tag"
buildah rm "$c" >/dev/null
"""


def _post(client: TestClient, event: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    resp = client.post("/hooks/forge", content=body,
                       headers={"X-GitHub-Event": event, "X-Hub-Signature-256": sig})  # fmt: skip
    assert resp.status_code < 300, resp.text


def _pr(url: str, action: str, number: int, branch: str, sha: str, merged: bool = False) -> Any:
    return {"action": action, "number": number,
            "pull_request": {"number": number, "merged": merged,
                             "head": {"ref": branch, "sha": sha}, "base": {"ref": "main"}},
            "repository": {"clone_url": url}, "sender": {"login": "dev"}}  # fmt: skip


def _wait(fn: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_webhook_ci_build_deploy_and_close(world_factory: Any, monkeypatch: Any) -> None:
    w = world_factory("github")
    monkeypatch.setenv("SHIPWAY_FORGE_TOKEN", TOKEN)
    (w.source.path / ".github" / "workflows").mkdir(parents=True)
    (w.source.path / ".github" / "workflows" / "pr.yml").write_text(WORKFLOW)
    (w.source.path / "build.sh").write_text(BUILD)
    w.source.add_all()
    w.source.commit("ci")
    w.source.push("origin", "HEAD:refs/heads/main")
    url = w.source.run("remote", "get-url", "origin").strip()
    pipeline = f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: web}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  runner: {{executor: host}}
  vars: {{REGISTRY: "{w.registry}"}}
  forge: {{kind: github, apiURL: "{w.forge.api("github")}", project: "{w.project}"}}
"""
    resource_store.apply(w.store, parse_text(pipeline, "pipeline.yaml"))
    w.appset()
    settings = Settings(home=w.settings.home, webhook_secret=SECRET,
                        controller_url="http://controller.test")  # fmt: skip
    controller = Controller(settings, w.store, health_timeout=60)
    env = {"PATH": "/usr/bin:/bin", **w.podman}
    monkeypatch.setattr(controller.ci, "step_env", lambda pipe: env)
    controller.start_workers()
    try:
        _rec, token = accounts.issue_token(
            w.store, accounts.create(w.store, "reader", None, role="readonly").name
        )
        client = TestClient(create_app(controller), headers={"Authorization": f"Bearer {token}"})
        sha = w.push_branch("feature", "one")
        number = w.open_pull("feature")
        started = time.monotonic()
        _post(client, "pull_request", _pr(url, "opened", number, "feature", sha))
        name = preview_name("web-previews", number)
        p = _wait(lambda: (x := store_previews.get(w.store, name)) and x.phase in
                  ("Ready", "Failed") and x)  # fmt: skip
        assert p.phase == "Ready", p.message
        took = time.monotonic() - started
        with urllib.request.urlopen(p.preview_url, timeout=5) as resp:
            assert resp.read().decode().strip() == sha
        states = [s["state"] for s in w.forge.statuses_of("github", w.project, sha)
                  if s.get("context") == "shipway/preview"]  # fmt: skip
        assert states[0] == "pending" and states[-1] == "success"  # pending while CI built it
        [comment] = w.forge.comments_on("github", w.project, number)
        assert p.preview_url in comment
        print(f"opened to URL posted: {took:.1f}s")

        w.forge.set_pull("github", w.project, number, state="merged")
        _post(client, "pull_request", _pr(url, "closed", number, "feature", sha, merged=True))
        _wait(lambda: store_previews.get(w.store, name) is None, 60)
        assert resource_store.list_kind(w.store, "Application") == []
    finally:
        controller.wait_idle(120)
        controller.shutdown()
