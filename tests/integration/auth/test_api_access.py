"""The controller's API against a real controller process on loopback.

Every route but /healthz (and the hooks, which check their own per-source
credentials, and the login form) answers 401 without a token, or, for a page of
the web UI, sends the browser to the login form; a role without the permission
gets 403; expired and revoked tokens are refused; argocd-rbac-cm stored
with ``shipway apply`` decides; ``shipway login``, ``account can-i`` and the
remote commands go through the API; local-only commands refuse while
logged in.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from auth_controller import Controller, cli, running
from fastapi.routing import APIRoute

from kargo_shop import KARGO
from shipway.controller.core import Controller as CoreController
from shipway.model.release import Release
from shipway.model.resources import parse_text
from shipway.server.app import create_app
from shipway.server.auth import OPEN, ui_page
from shipway.settings import Settings
from shipway.store import releases, runs
from shipway.store import resources as resource_store
from shipway.store.db import open_store

pytestmark = pytest.mark.integration

RBAC_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-rbac-cm
  namespace: argocd
data:
  policy.default: role:readonly
  policy.csv: |
    # developers approve web's environments, but not production
    p, role:dev, ci-runs, approve, web/*, allow
    p, role:dev, ci-runs, approve, web/production, deny
    g, alice, role:dev
"""

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web-dev, namespace: argocd}
spec:
  project: default
  source: {repoURL: "git://127.0.0.1:1/config.git", path: dev}
  destination: {name: local, namespace: web}
"""


def _routes() -> list[tuple[str, str]]:
    """Every (method, path) the app serves, path parameters filled in."""
    fake = cast(CoreController, SimpleNamespace(store=None, settings=Settings(), receiver=None))
    found = []
    for route in create_app(fake).routes:
        if isinstance(route, APIRoute):
            path = route.path.replace("{subresource:path}", "x/y")
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "x")
            found += [(m, path) for m in sorted(route.methods)]
    return found


@pytest.fixture
def ctl(shipway_home: Path) -> Iterator[Controller]:
    with running(shipway_home) as c:
        store = open_store(Settings(home=shipway_home))
        runs.save_run(store, {"id": "run-web-1", "workflow": "ci", "event": "push",
                              "pipeline": "web", "conclusion": "success", "jobs": []},
                      "hello from the log\n")  # fmt: skip
        releases.save(store, Release.from_dict({"id": "rel-1", "app": "web-dev",
                                                "commit": "a" * 40}))  # fmt: skip
        resource_store.apply(store, parse_text(APP, "app.yaml"))
        store.close()
        yield c


def _token(name: str, *args: str) -> str:
    made = cli("account", "create", name, "--no-password", *args)
    assert made.returncode == 0, made.stderr
    tok = cli("account", "token", "create", name)
    assert tok.returncode == 0, tok.stderr
    return tok.stdout.strip()


def _get(c: Controller, path: str, token: str) -> httpx.Response:
    return httpx.get(c.url + path, headers={"Authorization": f"Bearer {token}"})


def test_every_route_needs_a_credential(ctl: Controller) -> None:
    routes = _routes()
    assert ("GET", "/api/ci/runs/x/log") in routes and ("POST", "/api/session") in routes
    assert ("GET", "/api/v1/ci/runs/x/log") in routes and ("POST", "/api/v1/session") in routes
    checked = 0
    for method, path in routes:
        if path == "/healthz" or path.startswith("/hooks/") or (method, path) in OPEN:
            continue  # /hooks/* check their own per-source tokens (not this module's)
        for headers in ({}, {"Authorization": "Bearer shw_nope_nope"},
                        {"Authorization": "Basic YWRtaW46eA=="}):  # fmt: skip
            resp = httpx.request(method, ctl.url + path, headers=headers, follow_redirects=False)
            if ui_page(path) and "Bearer" not in headers.get("Authorization", ""):
                # a browser without a session goes to the login form, and comes back
                assert resp.status_code == 303, (method, path, headers, resp.text)
                assert resp.headers["location"].startswith("/login?next=%2F")
                continue
            assert resp.status_code == 401, (method, path, headers, resp.text)
            assert resp.headers["www-authenticate"].startswith("Bearer")
        checked += 1
    assert checked >= 10
    for path in ("/api/nope", "/api/v1/openapi.json"):
        assert httpx.get(ctl.url + path).status_code == 401
    for path in ("/docs", "/openapi.json", "/"):
        assert httpx.get(ctl.url + path).status_code == 303
    assert httpx.get(ctl.url + "/healthz").status_code == 200
    assert _get(ctl, "/api/events", ctl.admin_token).status_code == 200
    assert _get(ctl, "/api/v1/events", ctl.admin_token).status_code == 200


def test_initial_admin_secret(ctl: Controller) -> None:
    path = ctl.home / "initial-admin.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    resp = httpx.post(ctl.url + "/api/session",
                      json={"username": "admin", "password": ctl.admin_password})  # fmt: skip
    assert resp.status_code == 200
    assert _get(ctl, "/api/session/userinfo", resp.json()["token"]).json()["username"] == "admin"
    wrong = httpx.post(ctl.url + "/api/session", json={"username": "admin", "password": "x" * 9})
    assert wrong.status_code == 401 and "invalid username or password" in wrong.text
    listed = cli("account", "list", "-o", "json")
    assert [a["name"] for a in json.loads(listed.stdout)["items"]] == ["admin"]


def test_wrong_role_is_forbidden(ctl: Controller) -> None:
    nobody, reader = _token("nobody"), _token("reader", "--role", "readonly")
    assert _get(ctl, "/api/ci/runs", nobody).json() == []  # lists leave out what one may not get
    assert _get(ctl, "/api/releases", nobody).json() == []
    for path in ("/api/events", "/api/ci/runs/run-web-1", "/api/ci/runs/run-web-1/log",
                 "/api/releases/rel-1"):  # fmt: skip
        resp = _get(ctl, path, nobody)
        assert resp.status_code == 403, (path, resp.text)
        assert "permission denied" in resp.json()["error"]
    assert _get(ctl, "/api/ci/runs/run-web-1/log", reader).text == "hello from the log\n"
    assert [r["id"] for r in _get(ctl, "/api/releases", reader).json()] == ["rel-1"]
    body = {"environment": "production"}
    for token in (nobody, reader):
        resp = httpx.post(ctl.url + "/api/ci/runs/run-web-1/approve", json=body,
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert resp.status_code == 403
        assert "ci-runs, approve, web/production" in resp.json()["error"]
    admin = httpx.post(ctl.url + "/api/ci/runs/run-web-1/approve", json=body,
                       headers={"Authorization": f"Bearer {ctl.admin_token}"})  # fmt: skip
    assert admin.status_code == 404  # allowed; nothing of that run waits


def test_expired_and_revoked_tokens(ctl: Controller) -> None:
    assert cli("account", "create", "carol", "--no-password", "--role", "readonly").returncode == 0
    short = cli("account", "token", "create", "carol", "--expires", "1ms", "-o", "json")
    lasting = json.loads(cli("account", "token", "create", "carol", "-o", "json").stdout)
    expired = json.loads(short.stdout)
    time.sleep(0.05)
    resp = _get(ctl, "/api/events", expired["token"])
    assert resp.status_code == 401 and "expired" in resp.json()["error"]
    assert _get(ctl, "/api/events", lasting["token"]).status_code == 200
    revoked = cli("account", "token", "revoke", "carol", lasting["id"])
    assert revoked.returncode == 0, revoked.stderr
    resp = _get(ctl, "/api/events", lasting["token"])
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]
    listed = json.loads(cli("account", "token", "list", "carol", "-o", "json").stdout)["items"]
    assert [(t["id"], bool(t["revokedAt"])) for t in listed] == [
        (expired["id"], False), (lasting["id"], True)]  # fmt: skip
    assert all("token" not in t for t in listed)
    assert cli("account", "delete", "carol").returncode == 0
    assert _get(ctl, "/api/events", expired["token"]).status_code == 401


def test_rbac_configmap_login_and_can_i(ctl: Controller, tmp_path: Path) -> None:
    (tmp_path / "rbac.yaml").write_text(RBAC_CM)
    applied = cli("apply", "-f", str(tmp_path / "rbac.yaml"))
    assert applied.returncode == 0, applied.stderr
    for name in ("alice", "bob"):
        made = cli("account", "create", name, "--password-stdin", stdin=f"{name}-password\n")
        assert made.returncode == 0, made.stderr
    bob = json.loads(cli("account", "token", "create", "bob", "-o", "json").stdout)["token"]
    assert _get(ctl, "/api/events", bob).status_code == 200  # policy.default: role:readonly

    login = cli("login", ctl.url, "--username", "alice", "--password-stdin",
                stdin="alice-password\n", process=True)  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert "'alice' logged in successfully" in login.stdout
    config = Path(os.environ["SHIPWAY_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "alice-password" not in config.read_text()
    for args, answer in [(("approve", "ci-runs", "web/staging"), "yes"),
                         (("approve", "ci-runs", "web/production"), "no"),
                         (("approve", "ci-runs", "api/staging"), "no"),
                         (("get", "applications", "default/web-dev"), "yes"),
                         (("sync", "applications", "default/web-dev"), "no")]:  # fmt: skip
        can = cli("account", "can-i", *args, process=answer == "no")
        assert (can.returncode, can.stdout.strip()) == (0, answer), (args, can.stderr)
    local = cli("--core", "account", "can-i", "approve", "ci-runs", "web/staging", "--as", "bob")
    assert local.stdout.strip() == "no"
    approve = cli("ci", "approve", "run-web-1", "--environment", "production")
    assert approve.returncode == 6 and "permission denied" in approve.stderr


def test_remote_commands_through_the_login(ctl: Controller, tmp_path: Path) -> None:
    login = cli("login", ctl.url, "--token", ctl.admin_token)
    assert login.returncode == 0, login.stderr
    listed = cli("ci", "list", "-o", "json")
    assert [r["id"] for r in json.loads(listed.stdout)["items"]] == ["run-web-1"], listed.stderr
    assert cli("ci", "logs", "run-web").stdout == "hello from the log\n\n"
    assert json.loads(cli("release", "list", "-o", "json").stdout)["items"][0]["id"] == "rel-1"
    got = cli("release", "get", "rel-1")
    assert got.returncode == 0 and "release rel-1  app=web-dev" in got.stdout
    assert cli("release", "get", "nope").returncode == 3
    apps = json.loads(cli("app", "list", "-o", "json").stdout)["items"]
    assert [a["metadata"]["name"] for a in apps] == ["web-dev"]
    waiting = cli("ci", "approvals", "-o", "json")
    assert waiting.returncode == 0 and json.loads(waiting.stdout)["items"] == []

    (tmp_path / "app.yaml").write_text(APP)
    refused = cli("apply", "-f", str(tmp_path / "app.yaml"))
    assert refused.returncode == 2
    assert "'shipway apply' works on the local store only" in refused.stderr
    assert "shipway --core apply" in refused.stderr
    assert cli("--core", "get", "applications", "-o", "json").returncode == 0
    reviewer = cli("ci", "approve", "run-web-1", "--environment", "prod", "--reviewer", "x")
    assert reviewer.returncode == 2 and "--reviewer is refused" in reviewer.stderr

    assert cli("logout").returncode == 0
    assert (
        json.loads(cli("ci", "list", "-o", "json").stdout)["items"][0]["id"] == "run-web-1"
    )  # local
    via_flag = cli("ci", "list", "--server", ctl.url, env={"SHIPWAY_AUTH_TOKEN": "shw_x_y"})
    assert via_flag.returncode == 6 and "invalid token" in via_flag.stderr


def test_promotion_routes_check_rbac(ctl: Controller) -> None:
    """The promotion actions of the API and of the UI's forms answer 403 to a role without
    the permission, before they look at what is asked; readonly may read a stage's gates."""
    nobody, reader = _token("nobody"), _token("reader", "--role", "readonly")
    body = {"freight": "f1"}
    acts = [("/api/v1/promotions/shop/prod/promote", body, "promote"),
            ("/api/v1/promotions/shop/prod/approve", body, "approve"),
            ("/api/v1/promotions/shop/prod/verify", None, "verify"),
            ("/promotions/shop/prod/promote", body, "promote"),  # the UI's forms
            ("/promotions/shop/prod/approve", body, "approve"),
            ("/promotions/shop/prod/verify", {}, "verify")]  # fmt: skip

    def post(path: str, content: dict[str, str] | None, token: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token}"}
        if path.startswith("/api/"):
            return httpx.post(ctl.url + path, json=content, headers=auth)
        return httpx.post(ctl.url + path, data=content, headers=auth)

    for token in (nobody, reader):
        for path, content, action in acts:
            resp = post(path, content, token)
            assert resp.status_code == 403, (path, resp.text)
            assert f"promotions, {action}, shop/prod" in resp.text, resp.text
    gates = "/api/v1/promotions/shop/prod/gates"
    assert _get(ctl, gates, nobody).status_code == 403
    assert _get(ctl, gates, reader).status_code != 403
    for path, content, _action in acts:  # admin gets past RBAC to the request itself
        resp = post(path, content, ctl.admin_token)
        assert resp.status_code not in (401, 403), (path, resp.text)


PROMOTION = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Promotion
metadata: {name: prod.promo-of-prod, namespace: shop}
spec:
  stage: prod
  freight: f1
  steps:
  - uses: git-clone
    config: {repoURL: "git://127.0.0.1:1/x.git", checkout: [{path: ./out}]}
"""


def test_the_project_page_shows_only_stages_one_may_get(ctl: Controller) -> None:
    """A role that may not get a Stage sees neither it nor its Promotions on the UI page."""
    store = open_store(Settings(home=ctl.home))
    resource_store.apply(store, parse_text(KARGO + "---\n" + PROMOTION, "kargo.yaml"))
    store.close()
    nobody, reader = _token("nobody"), _token("reader", "--role", "readonly")
    seen = _get(ctl, "/promotions/shop", reader)
    assert seen.status_code == 200 and "prod.promo-of-prod" in seen.text, seen.text
    hidden = _get(ctl, "/promotions/shop", nobody)
    assert hidden.status_code in (200, 404), hidden.text
    assert "prod.promo-of-prod" not in hidden.text


def test_sync_and_rollback_routes_check_rbac_then_run_the_engine(ctl: Controller) -> None:
    """``POST /api/v1/applications/NS/NAME/sync|rollback``: a readonly role gets 403 naming the
    action; admin gets past RBAC to the engine (web-dev's repository is unreachable: the sync
    ends in phase Error with git's reason; there is no history entry 99 to roll back to)."""
    reader = _token("sync-reader", "--role", "readonly")
    base = ctl.url + "/api/v1/applications/argocd/web-dev"
    for action, body in (("sync", {"dryRun": True}), ("rollback", {"id": 99})):
        resp = httpx.post(f"{base}/{action}", json=body,
                          headers={"Authorization": f"Bearer {reader}"})  # fmt: skip
        assert resp.status_code == 403, resp.text
        assert f"applications, {action}, default/web-dev" in resp.text, resp.text
    admin = {"Authorization": f"Bearer {ctl.admin_token}"}
    synced = httpx.post(f"{base}/sync", json={"dryRun": True}, headers=admin, timeout=60)
    rolled = httpx.post(f"{base}/rollback", json={"id": 99}, headers=admin, timeout=60)
    assert synced.status_code == 200, synced.text
    got = synced.json()
    assert (got["app"], got["phase"], got["dry_run"]) == ("web-dev", "Error", True)
    assert "git://127.0.0.1:1/config.git" in got["message"]
    assert rolled.status_code == 404 and "history id 99 not found" in rolled.text, rolled.text
