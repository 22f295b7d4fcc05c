"""The controller's hooks as an attacker meets them: a real controller process on loopback.

Tokens per repository, shas checked at the real git daemon, forge signatures
and replays, malformed bodies; a registry notification whose digest lies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from controller_proc import AppRepo, ControllerProc
from updater_helpers import application, push_image, seed_config_repo

from shipway.controller.hooks import install_post_receive
from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.store import inbox
from shipway.store import resources as resource_store

pytestmark = pytest.mark.integration


def test_git_hook_needs_the_token_of_its_repository(
    controller: ControllerProc, app_repo: AppRepo, git_server: Any
) -> None:
    ctl = controller.start()
    sha = app_repo.work.run("rev-parse", "HEAD").strip()
    other = git_server.bare(f"other-{uuid.uuid4().hex[:6]}")
    for token in ("", "not-the-token", ctl.tokens.git(other), ctl.tokens.git(app_repo.url) + "0"):
        resp = ctl.git_hook(app_repo.url, [app_repo.update(sha)], token=token)
        assert resp.status_code == 401, (token, resp.text)
        assert "token" in resp.json()["detail"]
    basic = httpx.post(
        f"{ctl.url}/hooks/git",
        json={"repo": app_repo.url, "updates": []},
        headers={"Authorization": "Basic " + ctl.tokens.git(app_repo.url)},
    )
    assert basic.status_code == 401
    assert inbox.items(ctl.store, "git") == []

    resp = ctl.git_hook(app_repo.url, [app_repo.update(sha)])
    assert resp.status_code == 202, resp.text
    (run,) = ctl.wait_runs(sha, 1)
    assert run["conclusion"] == "success"


def test_a_sha_that_is_not_the_tip_is_refused_and_recorded(
    controller: ControllerProc, app_repo: AppRepo
) -> None:
    ctl = controller.start()
    old = app_repo.work.run("rev-parse", "HEAD").strip()
    new = app_repo.commit("v1")
    forged = "f" * 40
    for sha in (old, forged):
        resp = ctl.git_hook(app_repo.url, [app_repo.update(sha)])
        assert resp.status_code == 409, resp.text
        assert "is not the tip" in resp.json()["detail"]
    wrong_ref = ctl.git_hook(app_repo.url, [{**app_repo.update(new), "ref": "refs/heads/nope"}])
    assert wrong_ref.status_code == 409 and "no such ref" in wrong_ref.json()["detail"]
    events = ctl.events("PushNotTip")
    assert len(events) == 3
    assert {e["subject"] for e in events} == {app_repo.url}
    assert any(forged[:12] in e["message"] and new[:12] in e["message"] for e in events)
    assert inbox.items(ctl.store, "git") == []
    assert ctl.runs_of(old) == [] and ctl.runs_of(forged) == []


MALFORMED = [
    ("/hooks/git", b"\xff\xfe not utf-8", {}, "not UTF-8"),
    ("/hooks/git", b"[1, 2]", {}, "'repo' string"),
    ("/hooks/git", b'{"repo": "x", "updates": {"a": 1}}', {}, "must be a list"),
    (
        "/hooks/git",
        b'{"repo": "x", "updates": [{"ref": "refs/heads/m", "before": "0", "after": "1"}]}',
        {},
        "not a full hex sha",
    ),
    ("/hooks/forge", b"{]", {"X-GitHub-Event": "push"}, "not JSON"),
    ("/hooks/forge", b'{"repository": "str"}', {"X-GitHub-Event": "push"}, "malformed"),
    ("/hooks/registry", b"nope", {}, "not JSON"),
    (
        "/hooks/registry",
        b'{"events": [{"action": "push", "target": "str"}]}',
        {},
        "malformed",
    ),
]


def test_malformed_bodies_are_400_with_the_reason(controller: ControllerProc) -> None:
    ctl = controller.start()
    for route, body, extra, reason in MALFORMED:
        headers = dict(extra)
        if route == "/hooks/forge":
            sig = hmac.new(ctl.tokens.forge().encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={sig}"
        if route == "/hooks/registry":
            headers["Authorization"] = f"Bearer {ctl.tokens.registry()}"
        resp = httpx.post(f"{ctl.url}{route}", content=body, headers=headers)
        assert resp.status_code == 400, (route, body, resp.text)
        assert reason in resp.json()["detail"], (route, body, resp.text)
    assert inbox.counts(ctl.store) == {}


def _github_push(url: str, sha: str, before: str = "0" * 40) -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": before,
            "after": sha,
            "repository": {"clone_url": url},
            "commits": [{"id": sha}],
        }
    ).encode()


def _forge_post(
    ctl: ControllerProc, body: bytes, delivery: str, secret: str | None = None, client: Any = httpx
) -> httpx.Response:
    sig = hmac.new((secret or ctl.tokens.forge()).encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={sig}",
    }
    return client.post(f"{ctl.url}/hooks/forge", content=body, headers=headers, timeout=30)


def test_forge_signature_replay_and_forged_sha(
    controller: ControllerProc, app_repo: AppRepo
) -> None:
    ctl = controller.start()
    sha = app_repo.commit("v1")
    body = _github_push(app_repo.url, sha)
    unsigned = httpx.post(
        f"{ctl.url}/hooks/forge", content=body, headers={"X-GitHub-Event": "push"}
    )
    assert unsigned.status_code == 401
    assert _forge_post(ctl, body, "d-1", secret="guess").status_code == 401

    first = _forge_post(ctl, body, "d-1")
    assert first.status_code == 202, first.text
    again = _forge_post(ctl, body, "d-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # a new delivery of the same push is the same event
    other = _forge_post(ctl, body, "d-2")
    assert other.status_code == 200 and other.json()["duplicate"] is True
    # a different push of the same sha (another before) is a new event, but the same work
    assert (
        _forge_post(ctl, _github_push(app_repo.url, sha, before="1" * 40), "d-4").status_code == 202
    )
    (_run,) = ctl.wait_runs(sha, 1)
    ctl.wait_idle()
    assert len(ctl.runs_of(sha)) == 1 and len(ctl.releases_of(sha)) == 1
    assert len(inbox.items(ctl.store, "forge")) == 2

    # a signed push of a sha the server does not have at the tip is recorded, never run
    forged = "e" * 40
    assert _forge_post(ctl, _github_push(app_repo.url, forged), "d-3").status_code == 202
    ctl.wait_idle()
    assert ctl.runs_of(forged) == []
    assert any(forged[:12] in e["message"] for e in ctl.events("PushNotTip"))


def test_registry_hook_needs_its_token_and_its_digest_is_asked_of_the_registry(
    controller: ControllerProc, registry: Any, git_server: Any, tmp_path: Path
) -> None:
    ctl = controller.start()
    name = f"demo/trust-{uuid.uuid4().hex[:8]}"
    cfg_url = git_server.bare(f"cfg-{uuid.uuid4().hex[:8]}")
    seed_config_repo(cfg_url, tmp_path / "seed")
    client = RegistryClient(registry.host)
    real = push_image(client, name, "1.0", created="2026-01-01T00:00:00Z", revision="a" * 40)
    image = f"{registry.host}/{name}"
    resource_store.apply(ctl.store, parse_text(application("trust", image, cfg_url), "a.yaml"))
    lie = "sha256:" + "6" * 64
    envelope = {
        "events": [
            {
                "id": uuid.uuid4().hex,
                "action": "push",
                "timestamp": "2026-01-01T00:00:01Z",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "repository": name,
                    "tag": "1.0",
                    "digest": lie,
                },
                "request": {"host": registry.host},
            }
        ]
    }
    body = json.dumps(envelope).encode()
    kind = {"Content-Type": "application/vnd.docker.distribution.events.v1+json"}
    for auth in ({}, {"Authorization": "Bearer wrong"}):
        resp = httpx.post(f"{ctl.url}/hooks/registry", content=body, headers={**kind, **auth})
        assert resp.status_code == 401, resp.text
    auth = {"Authorization": f"Bearer {ctl.tokens.registry()}"}
    resp = httpx.post(f"{ctl.url}/hooks/registry", content=body, headers={**kind, **auth})
    assert resp.status_code == 202, resp.text
    # the registry retries an envelope it thinks was lost: the same event ids are one event
    again = httpx.post(f"{ctl.url}/hooks/registry", content=body, headers={**kind, **auth})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    ctl.wait_idle()
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline and real not in text:
        text = (
            Repo.clone(cfg_url, tmp_path / uuid.uuid4().hex).path
            / "overlays/dev/kustomization.yaml"
        ).read_text()
        time.sleep(0.5)
    assert f"digest: {real}" in text, text
    assert lie not in text


def test_the_hook_shipway_installs_sends_the_token(
    controller: ControllerProc, app_repo: AppRepo, git_server: Any
) -> None:
    ctl = controller.start()
    bare = git_server.base / app_repo.url.rsplit("/", 1)[1]
    hook = install_post_receive(bare, ctl.url, app_repo.url, ctl.tokens.git(app_repo.url))
    assert hook.stat().st_mode & 0o777 == 0o700  # it holds a secret
    sha = app_repo.commit("told by the hook")
    (run,) = ctl.wait_runs(sha, 1)
    assert run["conclusion"] == "success"
    # a hook with a stale token is refused, and the pusher is told why
    install_post_receive(bare, ctl.url, app_repo.url, "stale")
    (app_repo.work.path / "app.txt").write_text("refused")
    app_repo.work.run("commit", "-qam", "refused")
    pushed = subprocess.run(["git", "push", "origin", "HEAD:main"], cwd=app_repo.work.path,
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert "controller refused this push (401" in pushed.stderr


def test_gitea_and_gitlab_deliveries_are_checked_and_a_replay_is_ignored(
    controller: ControllerProc, app_repo: AppRepo
) -> None:
    ctl = controller.start()
    old = app_repo.work.run("rev-parse", "HEAD").strip()
    sha = app_repo.commit("v2")
    secret = ctl.tokens.forge()
    gitea = json.dumps({"ref": "refs/heads/main", "before": old, "after": sha,
                        "repository": {"clone_url": app_repo.url}}).encode()  # fmt: skip
    gitea_sig = hmac.new(secret.encode(), gitea, hashlib.sha256).hexdigest()
    gitea_headers = {"X-Gitea-Event": "push", "X-Gitea-Delivery": "g-1",
                     "X-Gitea-Signature": gitea_sig}  # fmt: skip
    bad = {**gitea_headers, "X-Gitea-Signature": "0" * 64}
    assert httpx.post(f"{ctl.url}/hooks/forge", content=gitea, headers=bad).status_code == 401
    first = httpx.post(f"{ctl.url}/hooks/forge", content=gitea, headers=gitea_headers)
    assert first.status_code == 202, first.text
    replay = httpx.post(f"{ctl.url}/hooks/forge", content=gitea, headers=gitea_headers)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True

    # GitLab: the project's secret token in X-Gitlab-Token; the same push told by GitLab too
    gitlab = json.dumps({"object_kind": "push", "ref": "refs/heads/main", "before": old,
                         "after": sha, "project": {"git_http_url": app_repo.url}})  # fmt: skip
    gl_headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "l-1",
                  "X-Gitlab-Token": secret}  # fmt: skip
    wrong = {**gl_headers, "X-Gitlab-Token": "guess"}
    assert httpx.post(f"{ctl.url}/hooks/forge", content=gitlab, headers=wrong).status_code == 401
    for _ in range(2):  # the same push (the Gitea one already counted), then a replay
        again = httpx.post(f"{ctl.url}/hooks/forge", content=gitlab, headers=gl_headers)
        assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
    moved = gitlab.replace(old, "1" * 40)  # another push to the same sha: a new event
    gl_new = {**gl_headers, "X-Gitlab-Event-UUID": "l-2"}
    fresh = httpx.post(f"{ctl.url}/hooks/forge", content=moved, headers=gl_new)
    assert fresh.status_code == 202, fresh.text
    replay = httpx.post(f"{ctl.url}/hooks/forge", content=moved, headers=gl_new)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    ctl.wait_runs(sha, 1)
    ctl.wait_idle()
    assert len(ctl.runs_of(sha)) == 1 and len(ctl.releases_of(sha)) == 1  # one sha: one run
    assert len(inbox.items(ctl.store, "forge")) == 2


def _registry_payloads(host: str) -> dict[str, bytes]:
    digest = "sha256:" + "7" * 64
    return {
        "harbor": json.dumps({"type": "PUSH_ARTIFACT", "event_data": {
            "resources": [{"digest": digest, "tag": "v1", "resource_url": f"{host}/lib/app:v1"}],
            "repository": {"name": "app", "namespace": "lib", "repo_full_name": "lib/app"}}}),
        "dockerhub": json.dumps({"push_data": {"tag": "v1"},
                                 "repository": {"repo_name": "acme/app"}}),
        "quay": json.dumps({"docker_url": f"{host}/acme/app", "updated_tags": ["v1"]}),
        "ghcr": json.dumps({"action": "published", "package": {
            "name": "app", "namespace": "acme", "package_type": "CONTAINER",
            "package_version": {"version": digest,
                                "container_metadata": {"tag": {"name": "v1", "digest": digest}}},
            "registry": {"url": f"https://{host}"}}}),
    }  # fmt: skip


def test_each_registry_service_authenticates_as_it_documents(controller: ControllerProc) -> None:
    """Harbor's auth header, Docker Hub's and Quay's token in the URL, GHCR's HMAC: wrong or
    missing credentials are 401 and nothing is stored; the right ones are accepted."""
    ctl = controller.start()
    secret = ctl.tokens.registry()
    bodies = _registry_payloads("127.0.0.1:5999")

    def sig(body: str, key: str) -> str:
        return "sha256=" + hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()

    forms: dict[str, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {
        # service: (headers and query that are right, ... that are wrong)
        "harbor": ({"Authorization": secret}, {}, {"Authorization": "guess"}),
        "dockerhub": ({}, {"token": secret}, {}),
        "quay": ({}, {"token": secret}, {}),
        "ghcr": ({"X-GitHub-Event": "package", "X-Hub-Signature-256": sig(bodies["ghcr"], secret)},
                 {}, {"X-GitHub-Event": "package",
                      "X-Hub-Signature-256": sig(bodies["ghcr"], "guess")}),
    }  # fmt: skip
    url = f"{ctl.url}/hooks/registry"
    for service, (good_headers, good_query, bad_headers) in forms.items():
        body = bodies[service]
        for headers, query in ((bad_headers, {}), (bad_headers, {"token": "guess"})):
            resp = httpx.post(url, content=body, headers=headers, params=query)
            assert resp.status_code == 401, (service, resp.text)
        before = len(inbox.items(ctl.store, "registry"))
        resp = httpx.post(url, content=body, headers=good_headers, params=good_query)
        assert resp.status_code == 202, (service, resp.text)
        assert len(inbox.items(ctl.store, "registry")) == before + 1, service
