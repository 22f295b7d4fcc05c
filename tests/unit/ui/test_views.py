"""The application page's pure parts: the ownership tree, the side-by-side diff with
folded unchanged runs, Secret values masked, and the applications index's selection."""

from __future__ import annotations

import base64
import datetime as dt

from shipway.model.resources import Resource
from shipway.server import session
from shipway.server.ui import appindex, promotions, views


def _obj(kind: str, name: str, uid: str, owner: tuple[str, str, str] | None = None) -> dict:
    meta: dict = {"name": name, "uid": uid}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "uid": owner[2]}]
    return {"key": f"apps/{kind}/ns/{name}", "kind": kind, "namespace": "ns", "name": name,
            "status": "Synced", "live": {"kind": kind, "metadata": meta}}  # fmt: skip


def test_tree_by_owner_uid_then_name() -> None:
    objs = [
        _obj("Pod", "web-1-a", "p1", ("ReplicaSet", "web-1", "rs1")),
        _obj("ReplicaSet", "web-1", "rs1", ("Deployment", "web", "d1")),
        _obj("Deployment", "web", "d1"),
        _obj("Pod", "web-1-b", "p2", ("ReplicaSet", "web-1", "other-uid")),  # by kind and name
        _obj("Service", "web", "s1"),
        _obj("Pod", "orphan", "p3", ("ReplicaSet", "gone", "nope")),
    ]
    roots = views.tree(objs)
    assert [(n.kind, n.name) for n in roots] == [("Service", "web"), ("Deployment", "web"),
                                                 ("Pod", "orphan")]  # fmt: skip
    deploy = roots[1]
    assert [c.name for c in deploy.children] == ["web-1"]
    assert [c.name for c in deploy.children[0].children] == ["web-1-a", "web-1-b"]
    assert deploy.size == 4


def test_tree_of_1500_objects_is_quick_to_build() -> None:
    objs = [_obj("Deployment", f"d{i}", f"d{i}") for i in range(100)]
    objs += [_obj("ReplicaSet", f"r{i}", f"r{i}", ("Deployment", f"d{i % 100}", f"d{i % 100}"))
             for i in range(400)]  # fmt: skip
    objs += [_obj("Pod", f"p{i}", f"p{i}", ("ReplicaSet", f"r{i % 400}", f"r{i % 400}"))
             for i in range(1000)]  # fmt: skip
    roots = views.tree(objs)
    assert len(roots) == 100 and sum(n.size for n in roots) == 1500


def test_side_by_side_folds_long_unchanged_runs() -> None:
    left = "\n".join(f"line {i}" for i in range(40))
    right = left.replace("line 20", "line twenty")
    blocks = views.side_by_side(left, right, context=3)
    folded = [b for b in blocks if b.folded]
    assert [len(b.rows) for b in folded] == [17, 16]  # 0-16 and 24-39 hidden, 3 lines around
    changed = [r for b in blocks for r in b.rows if r.op != "equal"]
    assert changed == [views.Row("change", 21, "line 20", 21, "line twenty")]
    assert views.changed(blocks) == 1
    shown = [r.left_no for b in blocks if not b.folded for r in b.rows]
    assert shown == [18, 19, 20, 21, 22, 23, 24]


def test_side_by_side_insert_and_delete_rows() -> None:
    blocks = views.side_by_side("a\nb\nc\n", "a\nc\nd\n")
    ops = [(r.op, r.left, r.right) for b in blocks for r in b.rows]
    assert ("delete", "b", "") in ops and ("insert", "", "d") in ops


def test_secret_values_masked_on_both_sides() -> None:
    live = {"kind": "Secret", "data": {"a": base64.b64encode(b"old").decode(), "b": "c2FtZQ=="}}
    desired = {"kind": "Secret", "stringData": {"a": "new-secret"}, "data": {"b": "c2FtZQ=="}}
    left, right = views.manifest_pair("Secret", live, desired)
    assert "new-secret" not in right and "b2xk" not in left and "c2FtZQ" not in left + right
    assert "a: +++++++++" in right and "b: ++++++++" in right  # changed vs same
    cm_left, _ = views.manifest_pair("ConfigMap", {"data": {"k": "visible"}}, None)
    assert "visible" in cm_left  # only Secrets are masked


def _summary(name: str, **kw: str) -> appindex.Summary:
    body = {"metadata": {"labels": kw.get("labels_", {}) or {"team": kw.get("team", "a")}},
            "spec": {"project": kw.get("project", "default"),
                     "destination": {"name": kw.get("cluster", "mem"),
                                     "namespace": kw.get("ns", "web")}}}  # fmt: skip
    status = {"sync": {"status": kw.get("sync", "Synced")},
              "health": {"status": kw.get("health", "Healthy")}}  # fmt: skip
    return appindex.summarize("argocd", name, body, status)


def test_select_filters_counts_and_pages() -> None:
    apps = [_summary(f"app-{i:03d}", sync="OutOfSync" if i % 3 == 0 else "Synced",
                     project="p1" if i < 50 else "p2", team="red" if i % 2 else "blue")
            for i in range(120)]  # fmt: skip
    sel = appindex.select(apps, appindex.Query(per_page=25, page=2))
    assert sel.total == 120 and sel.pages == 5 and sel.items[0].name == "app-025"
    assert sel.counts["sync"] == {"OutOfSync": 40, "Synced": 80}
    q = appindex.Query(project="p1", sync="OutOfSync", labels=appindex.parse_labels("team=red"))
    sel = appindex.select(apps, q)
    assert [s.name for s in sel.items] == [f"app-{i:03d}" for i in (3, 9, 15, 21, 27, 33, 39, 45)]
    sel = appindex.select(
        [a for a in apps if a.rbac_object.endswith("5")], appindex.Query(q="app-11")
    )
    assert [s.name for s in sel.items] == ["app-115"] and sel.visible == 12
    assert appindex.parse_labels("a=b, c") == (("a", "b"), ("c", "*"))
    sel = appindex.select(apps, appindex.Query(page=99, per_page=50))
    assert sel.page == 3 and len(sel.items) == 20


def test_session_helpers() -> None:
    assert session.safe_next("/applications?x=1") == "/applications?x=1"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil", "", None, "javascript:x"):
        assert session.safe_next(bad) == "/"
    tok = "shw_abc_def"
    assert session.csrf_ok(tok, session.csrf_for(tok))
    assert not session.csrf_ok(tok, session.csrf_for("shw_other")) and not session.csrf_ok(tok, "")
    assert tok not in session.csrf_for(tok)


def test_throttle_per_account_and_address() -> None:
    t = session.Throttle(max_failures=3, window=60)
    for i in range(3):
        assert t.wait("admin", "1.2.3.4", now=100 + i) == 0
        t.failed("admin", "1.2.3.4", now=100 + i)
    assert t.wait("admin", "1.2.3.4", now=103) == 57
    assert t.wait("admin", "5.6.7.8", now=103) == 0  # another address
    assert t.wait("bob", "1.2.3.4", now=103) == 0  # another account
    assert t.wait("admin", "1.2.3.4", now=161) == 0  # the first failure left the window
    t.failed("admin", "1.2.3.4", now=161)
    t.succeeded("admin", "1.2.3.4")
    assert t.wait("admin", "1.2.3.4", now=162) == 0


def _freight(name: str, status: dict) -> Resource:
    return Resource(api_version="kargo.akuity.io/v1alpha1", kind="Freight", name=name,
                    namespace="p", body={"origin": {"kind": "Warehouse", "name": "wh"}},
                    status=status)  # fmt: skip


def test_candidates_soak_and_approval_from_the_gates() -> None:
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    stage = Resource(api_version="kargo.akuity.io/v1alpha1", kind="Stage", name="uat",
                     namespace="p", body={"spec": {"requestedFreight": [{
                         "origin": {"kind": "Warehouse", "name": "wh"},
                         "sources": {"stages": ["test"], "requiredSoakTime": "1h"}}]}})  # fmt: skip
    inside = {"test": {"since": "2026-12-03T11:30:00Z"}}
    soaking = _freight("a", {"verifiedIn": {"test": {}}, "currentlyIn": inside})
    soaked = _freight("b", {"verifiedIn": {"test": {"longestSoak": "2h0m0s"}}})
    approved = _freight("c", {"approvedFor": {"uat": {}}})
    elsewhere = _freight("d", {})  # neither upstream nor approved: not offered
    got = {c["freight"].name: c for c in promotions.candidates(
        stage, [soaking, soaked, approved, elsewhere], now)}  # fmt: skip
    assert sorted(got) == ["a", "b", "c"]
    assert not got["a"]["available"] and got["a"]["remaining"] == 1800
    assert "30m0s" in got["a"]["reason"]
    assert got["b"]["available"] and got["b"]["remaining"] == 0
    assert got["c"]["available"] and got["c"]["approved"]
