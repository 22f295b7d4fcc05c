"""Promotion actions and gates, in the page and on the REST API, and the Previews page.

In a real browser (system Chromium): a Stage closed by a Deny promotion window says so and
offers no Promote button; re-running a Stage's verification makes an AnalysisRun; a
Pending promotion is aborted from the table; the RBAC of each action hides its button.
On ``/api/v1``, with bearer tokens: the gates, promote refused by the window (409 with the
reason), approve, abort (then 409: it ended), verify, and 403 for a reader; the OpenAPI
document lists them. The Previews page lists the open pull requests from the previews
store (URL, age, expiry) and leaves out one being torn down.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect
from ui_world import PASSWORD, World, apply_text

from shipway.model.preview import Preview
from shipway.promote import runner, verification
from shipway.store import previews as store_previews
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _ical(t: dt.datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%SZ")


@pytest.fixture(scope="module")
def gated(world: World) -> World:
    """The world plus: a freeze on prod, a Stage qa with a verification holding Freight
    ``first``, prod waiting on ``first`` to soak in dev, and two previews (one open, one
    being torn down)."""
    now = dt.datetime.now(dt.UTC)
    apply_text(world.store, f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: shop, namespace: shop}}
spec:
  promotionWindows:
    - name: freeze
      kind: Deny
      stageSelector: {{name: prod}}
      dtstart: "{_ical(now - dt.timedelta(hours=1))}"
      dtend: "{_ical(now + dt.timedelta(hours=2))}"
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: ping, namespace: shop}}
spec:
  metrics:
    - name: up
      successCondition: "result == 'ok'"
      provider: {{web: {{url: "http://127.0.0.1:9/healthz"}}}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: qa, namespace: shop}}
spec:
  requestedFreight:
    - origin: {{kind: Warehouse, name: images}}
      sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
        - uses: compose-output
          as: out
          config: {{stage: qa}}
  verification:
    analysisTemplates: [{{name: ping}}]
""")  # fmt: skip
    item = {"name": "aaaa1111bbbb2222", "origin": {"kind": "Warehouse", "name": "images"}}
    store_resources.set_status(world.store, "Stage", "qa", {"freightHistory": [
        {"id": "h1", "items": {"Warehouse/images": item}}]}, "shop")  # fmt: skip
    until = (now + dt.timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    soak = {
        "freight": "aaaa1111bbbb2222",
        "origin": "Warehouse/images",
        "until": until,
        "requiredSoakTime": "1h",
    }  # as lifecycle.soak_pass writes it
    store_resources.set_status(world.store, "Stage", "prod", {"soak": soak}, "shop")
    base = {"appset_namespace": "argocd", "appset": "shop-previews", "forge": "gitea",
            "project": "team/shop", "api": "http://127.0.0.1:1/api/v1", "target_branch": "main",
            "author": "bob"}  # fmt: skip
    store_previews.put(world.store, Preview(
        name="shop-previews-pr-7", number=7, branch="feature/cart", head_sha="ab" * 20,
        title="New cart", url="http://forge.test/team/shop/pulls/7", phase="Ready",
        preview_url="http://127.0.0.1:18080/", created=now - dt.timedelta(hours=3),
        updated=now - dt.timedelta(hours=1), expires=now + dt.timedelta(days=1),
        **base))  # fmt: skip
    store_previews.put(world.store, Preview(
        name="shop-previews-pr-5", number=5, branch="old", head_sha="cd" * 20, title="Gone",
        phase="Deleting", created=now - dt.timedelta(days=3), updated=now, **base))  # fmt: skip
    return world


def _token(world: World, user: str) -> str:
    body = json.dumps({"username": user, "password": PASSWORD}).encode()
    req = urllib.request.Request(world.url + "/api/v1/session", body,
                                 {"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(json.load(resp)["token"])


def _call(world: World, token: str, method: str, path: str,
          body: dict[str, Any] | None = None) -> tuple[int, Any]:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(world.url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_window_verify_and_abort_in_the_page(as_user: Any, gated: World) -> None:
    w = as_user("admin")
    w.page.goto(gated.url + "/promotions/shop")
    prod = w.page.locator("li[data-stage=prod]")
    expect(prod.locator(".window")).to_contain_text("closed")
    expect(prod.locator(".window")).to_contain_text("deny window freeze")
    expect(w.page.locator("li[data-stage=dev] .window")).to_contain_text("open")
    expect(prod.locator(".soak-wait")).to_contain_text("aaaa1111bbbb (1h) until")
    w.page.wait_for_load_state("networkidle")
    w.shot("gates")
    assert not w.axe(), w.axe()

    qa = w.page.locator("li[data-stage=qa]")
    qa.get_by_role("button", name="Re-run verification of qa").click()
    expect(w.page.locator("#promo-result")).to_contain_text("verification qa.")
    started = [k for k in verification.unfinished(gated.store) if k.startswith("shop/qa.")]
    assert len(started) == 1
    assert store_resources.find(gated.store, "AnalysisRun", started[0].split("/")[1], "shop")

    w.page.locator("li[data-stage=dev]").get_by_role(
        "button", name="Promote second to dev").click()  # fmt: skip
    expect(w.page.locator("#promo-result")).to_contain_text("created; the controller runs it")
    pending = runner.pending(gated.store)
    assert len(pending) == 1  # no controller runs it here
    name = pending[0].split("/", 1)[1]
    w.page.reload()
    w.page.get_by_role("button", name=f"Abort {name}").click()
    expect(w.page.locator("#promo-result")).to_contain_text(f"promotion {name} aborted")
    found = runner.phase_of(gated.store, pending[0])
    assert found is not None and found[0] == "Aborted"
    assert found[1]["message"] == "aborted by admin"


def test_rbac_hides_the_actions(as_user: Any, gated: World) -> None:
    viewer = as_user("viewer")
    viewer.page.goto(gated.url + "/promotions/shop")
    expect(viewer.page.locator("li[data-stage=qa]")).to_contain_text("Verification")
    expect(viewer.page.locator("button.verify")).to_have_count(0)
    expect(viewer.page.locator("button.promote")).to_have_count(0)
    expect(viewer.page.locator("button.abort")).to_have_count(0)
    alice = as_user("alice")  # may promote to shop/dev only
    alice.page.goto(gated.url + "/promotions/shop")
    expect(alice.page.locator("li[data-stage=dev] button.promote").first).to_be_visible()
    expect(alice.page.locator("button.verify")).to_have_count(0)
    expect(alice.page.locator("li[data-stage=qa] button.promote")).to_have_count(0)


def test_promotion_actions_on_the_api(gated: World) -> None:
    admin, viewer = _token(gated, "admin"), _token(gated, "viewer")
    code, got = _call(gated, admin, "GET", "/api/v1/promotions/shop/prod/gates")
    assert code == 200 and got["window"]["open"] is False
    assert "freeze" in got["window"]["reason"] and got["window"]["nextOpen"].endswith("Z")
    assert got["soak"]["freight"] == "aaaa1111bbbb2222" and got["promotion"] == ""
    code, got = _call(gated, admin, "POST", "/api/v1/promotions/shop/prod/promote",
                      {"freight": "first"})  # fmt: skip
    assert code == 409 and "promotion window" in got["error"]
    code, got = _call(gated, viewer, "POST", "/api/v1/promotions/shop/dev/approve",
                      {"freight": "first"})  # fmt: skip
    assert code == 403
    code, got = _call(gated, admin, "POST", "/api/v1/promotions/shop/prod/approve",
                      {"freight": "first"})  # fmt: skip
    assert code == 200 and got["approved"] and got["approver"] == "admin"
    code, got = _call(gated, admin, "POST", "/api/v1/promotions/shop/dev/promote",
                      {"freight": "first"})  # fmt: skip
    assert code == 201 and got["actor"] == "admin", got
    name = got["name"]
    code, got = _call(gated, viewer, "POST", f"/api/v1/projects/shop/promotions/{name}/abort")
    assert code == 403
    code, got = _call(gated, admin, "POST", f"/api/v1/projects/shop/promotions/{name}/abort")
    assert code == 200 and got["phase"] == "Aborted" and got["stage"] == "dev"
    code, got = _call(gated, admin, "POST", f"/api/v1/projects/shop/promotions/{name}/abort")
    assert code == 409 and "already ended" in got["error"]
    code, got = _call(gated, admin, "POST", "/api/v1/projects/shop/promotions/nosuch/abort")
    assert code == 404
    code, got = _call(gated, admin, "POST", "/api/v1/promotions/shop/qa/verify")
    assert code == 201 and got["started"] and got["analysisRun"].startswith("qa.")
    code, got = _call(gated, admin, "POST", "/api/v1/promotions/shop/dev/verify")
    assert code == 404 and "holds no Freight" in got["error"]
    code, doc = _call(gated, viewer, "GET", "/api/v1/openapi.json")
    paths = set(doc["paths"])
    assert {"/api/v1/promotions/{project}/{stage}/verify",
            "/api/v1/promotions/{project}/{stage}/gates",
            "/api/v1/projects/{project}/promotions/{name}/abort"} <= paths  # fmt: skip


def test_previews_from_the_store(as_user: Any, gated: World) -> None:
    w = as_user("viewer")
    w.page.goto(gated.url + "/previews")
    rows = w.page.locator("#previews tbody tr")
    expect(rows).to_have_count(1)  # pr-5 is being torn down
    row = w.page.locator("tr[data-preview=shop-previews-pr-7]")
    expect(row).to_contain_text("#7 New cart")
    expect(row).to_contain_text("Ready")
    expect(row.locator("a.preview-url")).to_have_attribute("href", "http://127.0.0.1:18080/")
    expect(row.get_by_role("link", name="#7")).to_have_attribute(
        "href", "http://forge.test/team/shop/pulls/7")  # fmt: skip
    expect(row.locator(".age")).to_contain_text(re.compile(r"^3h0\dm$"))
    expect(row).to_contain_text(re.compile(r"\(in 23h\d\dm\)"))
    w.shot("previews")
    assert not w.axe(), w.axe()
