"""The web UI in a real browser (system Chromium through playwright) against the real app.

Sign in and back to the page asked for; every page renders with no console errors and no
serious or critical axe violations (screenshots kept under ``artifacts``); sync (dry run and
real), an object's live manifest beside git's with Secret values masked, rollback after its
preview, a CI approval recorded under the signed-in user, a promotion started, live updates
arriving without a reload, RBAC hiding buttons and refusing the request, 404 pages, API
errors shown in the page, an expired session and login throttling.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from ui_world import World

from shipway.deploy import engine
from shipway.store import accounts as store_accounts
from shipway.store import ci_coord, runs
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration

PAGES = [
    ("applications", "/applications", "Applications"),
    ("applications-table", "/applications?view=table", "Applications"),
    ("application", "/applications/argocd/web", "Application web"),
    ("releases", "/releases", "Releases"),
    ("release", "/releases/rel-web-0001", "Release rel-web-0001"),
    ("ci-runs", "/ci/runs", "CI runs"),
    ("ci-run", "/ci/runs/run-0001", "Run run-0001"),
    ("promotions", "/promotions", "Promotions"),
    ("project", "/promotions/shop", "Project shop"),
    ("previews", "/previews", "Previews"),
    ("api-docs", "/api/v1/docs", "API"),
]


def test_sign_in_returns_to_the_page(as_user: Any, world: World) -> None:
    w = as_user(None)
    w.page.goto(world.url + "/ci/runs/run-0001")
    expect(w.page).to_have_url(re.compile(r"/login\?next=%2Fci%2Fruns%2Frun-0001"))
    w.shot("login")
    assert not w.axe()
    w.page.get_by_label("Username").fill("admin")
    w.page.get_by_label("Password").fill("wrong password")
    w.refusals_expected = True
    w.page.get_by_role("button", name="Sign in").click()
    expect(w.page.locator("#login-error")).to_contain_text("invalid username or password")
    expect(w.page.locator("input[name=next]")).to_have_value("/ci/runs/run-0001")
    w.page.get_by_label("Password").fill("correct horse battery")
    w.page.get_by_role("button", name="Sign in").click()
    expect(w.page).to_have_url(world.url + "/ci/runs/run-0001")
    cookie = next(c for c in w.page.context.cookies() if c["name"] == "shipway_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    w.page.get_by_role("button", name="Sign out").click()
    expect(w.page).to_have_url(world.url + "/login")
    w.page.goto(world.url + "/applications")
    expect(w.page).to_have_url(re.compile(r"/login\?next="))


def test_every_page_renders_accessibly(as_user: Any, world: World) -> None:
    w = as_user("admin")
    for label, path, heading in PAGES:
        w.page.goto(world.url + path)
        expect(w.page.locator("h1")).to_contain_text(heading)
        w.page.wait_for_load_state("networkidle")
        w.shot(label)
        assert not w.axe(), (label, w.axe())
    w.page.goto(world.url + "/applications/argocd/web")
    expect(w.page.locator("#tree-count")).to_contain_text("4 objects")
    expect(w.page.locator("#events")).to_contain_text("SyncSucceeded")
    w.page.goto(world.url + "/ci/runs/run-0001")
    cols = w.page.locator(".graph .col")
    expect(cols).to_have_count(3)  # build → test → deploy by needs
    expect(cols.nth(2)).to_contain_text("deploy")
    expect(w.page.locator("#run-log")).to_contain_text("12 passed")
    w.page.goto(world.url + "/releases/rel-web-0001")
    expect(w.page.locator(".timeline li")).to_have_count(6)
    w.page.goto(world.url + "/previews")
    expect(w.page.locator("#no-previews")).to_have_text("No previews.")


def test_applications_filters_and_search(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.page.goto(world.url + "/applications?view=table")
    expect(w.page.locator("#app-counts")).to_contain_text("2 of 2 applications")
    w.page.get_by_label("Search").fill("ap")
    w.page.get_by_role("button", name="Filter").click()
    expect(w.page.locator("table.apps tbody tr")).to_have_count(1)
    expect(w.page.locator("table.apps tbody")).to_contain_text("api")
    w.page.goto(world.url + "/applications?labels=team%3Dweb")
    expect(w.page.locator(".tile")).to_have_count(1)


def test_object_diff_masks_secrets_and_logs_say_unavailable(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.page.goto(world.url + "/applications/argocd/web")
    w.page.get_by_role("link", name="Secret/web-secret").click()
    panel = w.page.locator("#object")
    expect(panel.locator("h3")).to_have_text("/Secret/web/web-secret")
    expect(panel).to_contain_text("++++++++")
    assert "hunter2" not in panel.inner_text()
    w.page.get_by_role("link", name="ConfigMap/web-config").click()
    expect(panel.locator("h3")).to_have_text("/ConfigMap/web/web-config")
    unfold = panel.locator("button.unfold")
    if unfold.count():
        unfold.first.click()
    expect(panel).to_contain_text("message: v2")
    w.shot("object")
    # the in-memory cluster has no pods: the page says why instead of failing
    expect(w.page.locator("#pods-unavailable")).to_contain_text("cannot list pods")


def test_sync_dry_run_then_sync(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.page.goto(world.url + "/applications/argocd/web")
    w.page.get_by_label("Dry run").check()
    w.page.get_by_role("button", name="Sync", exact=True).click()
    expect(w.page.locator("#op-result")).to_contain_text("Dry run")
    before = len(store_resources.get(world.store, "Application", "web").status["history"])
    w.page.get_by_label("Dry run").uncheck()
    w.page.get_by_role("button", name="Sync", exact=True).click()
    expect(w.page.locator("#op-phase")).to_have_text("Succeeded")
    w.shot("synced")
    assert len(store_resources.get(world.store, "Application", "web").status["history"]) >= before


def test_rollback_after_preview(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.page.goto(world.url + "/applications/argocd/web")
    w.page.locator("a.rollback-preview").last.click()
    view = w.page.locator("#history-view")
    expect(view).to_contain_text("Rollback to entry 0")
    expect(view).to_contain_text("message: v1")
    assert "hunter2" not in view.inner_text()
    w.shot("rollback-preview")
    w.page.get_by_role("button", name=re.compile("Roll back to")).click()
    expect(w.page.locator("#op-phase")).to_have_text("Succeeded")
    live = world.target.live("web")
    cm = next(o for k, o in live.items() if k.endswith("/ConfigMap/web/web-config"))
    assert cm["data"]["message"] == "v1"
    engine.reconcile(world.store, "web", unpin=True, settings=world.settings)  # back to main


def test_approve_is_recorded_under_the_signed_in_user(as_user: Any, world: World) -> None:
    w = as_user("alice")
    w.page.goto(world.url + "/ci/runs/run-0001")
    w.page.get_by_label("Comment").fill("ship it")
    w.page.get_by_role("button", name="Approve").click()
    expect(w.page.locator("#review-result")).to_contain_text("Approved by alice")
    found = ci_coord.approval(world.store, "run-0001", "deploy", "production")
    assert found is not None and found["state"] == "approved" and found["reviewer"] == "alice"
    # again: nothing waits any more, and the API's message shows in the page
    w.refusals_expected = True
    w.page.get_by_role("button", name="Reject").click()
    expect(w.page.locator("#review-result .error")).to_contain_text("is waiting for a review")
    w.page.goto(world.url + "/ci/runs/run-0001")
    expect(w.page.locator("form.review")).to_have_count(0)


def test_promote_and_approve_freight(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.page.goto(world.url + "/promotions/shop")
    dev = w.page.locator("li[data-stage=dev]")
    expect(dev).to_contain_text("Freight first")
    dev.get_by_role("button", name="Promote first to dev").click()
    expect(w.page.locator("#promo-result")).to_contain_text("created; the controller runs it")
    promos = store_resources.list_kind(world.store, "Promotion", "shop")
    assert [p.spec["stage"] for p in promos] == ["dev"]
    assert promos[0].spec["freight"] == "aaaa1111bbbb2222"
    dev.get_by_role("button", name="Approve second for dev").click()
    expect(w.page.locator("#promo-result")).to_contain_text("approved for dev by admin")
    freight = store_resources.get(world.store, "Freight", "cccc3333dddd4444", "shop")
    assert "dev" in freight.status["approvedFor"]
    assert [a["approver"] for a in freight.status["approvals"]["dev"]] == ["admin"]
    prod = w.page.locator("li[data-stage=prod]")
    expect(prod).to_contain_text("from dev")
    expect(prod).to_contain_text("no Freight available")  # nothing is in dev yet


def test_live_update_without_reload(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.page.goto(world.url + "/applications?view=table")
    row = w.page.locator("tr[data-app=api]")
    expect(row).to_contain_text("Unknown")
    w.page.evaluate("window.__marker = 'same page'")
    w.page.wait_for_timeout(300)  # the stream is open
    res = store_resources.get(world.store, "Application", "api")
    status = {**res.status, "health": {"status": "Degraded"}, "sync": {"status": "OutOfSync"}}
    store_resources.set_status(world.store, "Application", "api", status)
    runs.record_event(world.store, "deploy", "Application/api", "HealthDegraded", "test")
    expect(row).to_contain_text("Degraded", timeout=10000)
    assert w.page.evaluate("window.__marker") == "same page"  # no reload happened


def test_rbac_hides_and_refuses(as_user: Any, world: World) -> None:
    viewer = as_user("viewer")
    viewer.page.goto(world.url + "/applications/argocd/web")
    expect(viewer.page.locator("h1")).to_contain_text("Application web")
    expect(viewer.page.locator("#sync-form")).to_have_count(0)
    expect(viewer.page.locator("a.rollback-preview")).to_have_count(0)
    viewer.refusals_expected = True
    answer = viewer.page.evaluate("""async () => {
        const r = await fetch('/applications/argocd/web/sync', {method: 'POST',
          headers: {'X-CSRF-Token': document.body.dataset.csrf,
                    'X-Requested-With': 'shipway',
                    'Content-Type': 'application/x-www-form-urlencoded'}, body: ''});
        return [r.status, await r.text()]; }""")
    assert answer[0] == 403 and "permission denied: applications, sync, default/web" in answer[1]
    forged = viewer.page.evaluate("""async () => (await fetch('/applications/argocd/web/sync',
        {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'})).status""")
    assert forged == 403  # no CSRF token: refused before RBAC
    viewer.page.goto(world.url + "/promotions/shop")
    expect(viewer.page.locator("button.promote")).to_have_count(0)
    viewer.page.goto(world.url + "/ci/runs/run-0001")
    alice = as_user("alice")
    alice.page.goto(world.url + "/applications/argocd/web")
    expect(alice.page.locator("#sync-form")).to_have_count(1)
    alice.page.goto(world.url + "/applications/argocd/api")
    expect(alice.page.locator("#sync-form")).to_have_count(0)
    alice.page.goto(world.url + "/promotions/shop")
    expect(alice.page.locator("li[data-stage=dev] button.promote")).not_to_have_count(0)
    expect(alice.page.locator("li[data-stage=prod] button.promote")).to_have_count(0)


def test_not_found_pages_and_errors_in_page(as_user: Any, world: World) -> None:
    w = as_user("admin")
    w.refusals_expected = True
    for path in ("/applications/argocd/nope", "/releases/nope", "/ci/runs/nope",
                 "/promotions/nope", "/no/such/page"):  # fmt: skip
        resp = w.page.goto(world.url + path)
        assert resp is not None and resp.status == 404, path
        expect(w.page.locator("h1")).to_have_text("404 · Not found")
    expect(w.page.locator("#error-message")).to_have_text("nothing at /no/such/page")
    w.shot("404")
    w.page.goto(world.url + "/applications/argocd/web/rollback/preview?id=99")
    expect(w.page.locator("#error-message")).to_contain_text("no history entry 99")


def test_expired_session_goes_to_login_and_back(as_user: Any, world: World) -> None:
    w = as_user("viewer")
    w.refusals_expected = True  # the revoked session's event stream is answered 401, by design
    with w.page.expect_response(lambda r: "/events/stream" in r.url):  # the stream is open
        w.page.goto(world.url + "/releases")
    for t in store_accounts.list_tokens(world.store, "viewer"):  # as if they had expired
        if t.kind == "session" and t.revoked is None:
            store_accounts.revoke_token(world.store, "viewer", t.id)
    w.page.goto(world.url + "/ci/runs")
    expect(w.page).to_have_url(re.compile(r"/login\?next=%2Fci%2Fruns$"))
    w.page.get_by_label("Username").fill("viewer")
    w.page.get_by_label("Password").fill("correct horse battery")
    w.page.get_by_role("button", name="Sign in").click()
    expect(w.page).to_have_url(world.url + "/ci/runs")


def test_login_attempts_are_throttled(as_user: Any, world: World) -> None:
    w = as_user(None)
    w.refusals_expected = True
    for _ in range(5):
        w.page.goto(world.url + "/login")
        w.page.get_by_label("Username").fill("alice")
        w.page.get_by_label("Password").fill("not it")
        w.page.get_by_role("button", name="Sign in").click()
        expect(w.page.locator("#login-error")).to_contain_text("invalid username or password")
    w.page.goto(world.url + "/login")
    w.page.get_by_label("Username").fill("alice")
    w.page.get_by_label("Password").fill("correct horse battery")  # right, but too late
    w.page.get_by_role("button", name="Sign in").click()
    expect(w.page.locator("#login-error")).to_contain_text("too many failed sign-ins")
