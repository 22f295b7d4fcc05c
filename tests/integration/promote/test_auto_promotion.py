"""Auto-promotion, holds, promotion windows, approvals and abort, on the stored resources.

As the controller's tick does, ``lifecycle.tick`` verifies and auto-promotes;
the queued promotions run here with the runner; the health endpoint is real.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from click.testing import CliRunner
from verify_helpers import Health, add_freight, docs, setup

from shipway.cli.main import cli
from shipway.model.errors import ConflictError, PermissionDeniedError
from shipway.promote import approvals, lifecycle, runner, verification
from shipway.promote import start as start_mod
from shipway.settings import Settings
from shipway.store import inbox, runs
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration
AUTO = [{"stageSelector": {"name": "glob:*"}, "autoPromotionEnabled": True, "autoRollback": {}}]


def cycle(store: Store, rounds: int = 60) -> None:
    """Tick and run what was queued until nothing moves."""
    for _ in range(rounds):
        lifecycle.tick(store, Settings())
        pending = runner.pending(store)
        for key in pending:
            runner.run(store, Settings(), key)
        if not pending and not verification.unfinished(store):
            return
        time.sleep(0.05)
    raise AssertionError("did not settle")


def holding(store: Store, stage: str) -> str:
    st = store_resources.get(store, "Stage", stage, "demo").status
    return str(st["freightHistory"][0]["items"]["Warehouse/web"]["name"])


def status(store: Store, kind: str, name: str) -> dict[str, Any]:
    return store_resources.get(store, kind, name, "demo").status


def test_new_freight_flows_to_test_then_uat_after_soak(store: Store, health: Health) -> None:
    setup(store, docs(health.url, policies=AUTO, soak="1s"))
    f1 = add_freight(store, "1.0.0")
    lifecycle.tick(store, Settings())
    (key,) = runner.pending(store)
    assert [i["payload"]["key"] for i in inbox.items(store, start_mod.LANE)] == [key]
    lifecycle.tick(store, Settings())  # one promotion per stage at a time: nothing more
    assert runner.pending(store) == [key]
    state = runs.get_state(store, runner.ENGINE, key)
    assert state and state[1]["actor"] == lifecycle.AUTO_ACTOR and state[1]["stage"] == "test"
    cycle(store)
    assert holding(store, "test") == f1
    assert "test" in status(store, "Freight", f1)["verifiedIn"]
    time.sleep(1.1)
    cycle(store)
    assert holding(store, "uat") == f1
    promo = [p for p in store_resources.list_kind(store, "Promotion", "demo")
             if p.spec["stage"] == "uat"]  # fmt: skip
    assert promo[0].body["metadata"]["annotations"][start_mod.AUTO] == "true"


def test_rollback_hold_skips_the_failed_freight_until_newer(store: Store, health: Health) -> None:
    setup(store, docs(health.url, policies=AUTO))
    good = add_freight(store, "1.0.0")
    cycle(store)
    health.body = {"status": "broken"}
    bad = add_freight(store, "1.1.0")
    cycle(store)
    assert holding(store, "test") == good  # rolled back, and not promoted to bad again
    hold = status(store, "Stage", "test")["autoPromotionHolds"]["Warehouse/web"]
    assert hold["freightName"] == bad
    for key in ("createdAt", "heldBefore"):  # RFC 3339 UTC ending in Z, as every record's time
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", hold[key]), hold
    rollbacks = [
        p
        for p in store_resources.list_kind(store, "Promotion", "demo")
        if start_mod.ROLLBACK_OF in p.body["metadata"].get("annotations", {})
    ]
    assert len(rollbacks) == 1, [(p.name, p.body["metadata"]["annotations"]) for p in rollbacks]
    health.body = {"status": "ok"}
    cycle(store)
    assert holding(store, "test") == good
    fixed = add_freight(store, "1.2.0")
    cycle(store)
    assert holding(store, "test") == fixed
    assert "Warehouse/web" not in status(store, "Stage", "test").get("autoPromotionHolds", {})


def test_manual_promotion_pins_the_origin(store: Store, health: Health) -> None:
    setup(store, docs(health.url, policies=AUTO))
    old = add_freight(store, "1.0.0")
    add_freight(store, "1.1.0")
    started = start_mod.start(store, project="demo", stage="test", freight=old, actor="alice")
    runner.run(store, Settings(), started.key)
    cycle(store)
    assert holding(store, "test") == old  # the newer one is held back by the pin
    hold = status(store, "Stage", "test")["autoPromotionHolds"]["Warehouse/web"]
    assert hold["reason"] == "Manual" and hold["actor"] == "alice"
    res = CliRunner().invoke(cli, ["stage", "unhold", "-n", "demo", "test"])
    assert res.exit_code == 0, res.output
    cycle(store)
    assert holding(store, "test") != old


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%SZ")


def test_deny_window_refuses_manual_and_automatic(store: Store, health: Health) -> None:
    now = dt.datetime.now(dt.UTC)
    deny = {"name": "freeze", "kind": "Deny", "stageSelector": {"name": "test"},
            "dtstart": _iso(now - dt.timedelta(hours=1)),
            "dtend": _iso(now + dt.timedelta(hours=1))}  # fmt: skip
    setup(store, docs(health.url, policies=AUTO, windows=[deny]))
    f1 = add_freight(store, "1.0.0")
    lifecycle.tick(store, Settings())
    assert runner.pending(store) == []
    res = CliRunner().invoke(cli, ["promote", "-n", "demo", "--freight", "v1-0-0",
                                   "--stage", "test"])  # fmt: skip
    assert isinstance(res.exception, ConflictError) and res.exception.exit_code == 4
    assert "promotion window: deny window freeze is open until" in str(res.exception)
    assert f1


def test_allow_window_outside_names_the_next_opening(store: Store, health: Health) -> None:
    now = dt.datetime.now(dt.UTC)
    start = now + dt.timedelta(hours=2)
    allow = {"name": "office", "kind": "Allow", "rrule": "FREQ=DAILY",
             "dtstart": _iso(start), "dtend": _iso(start + dt.timedelta(hours=1))}  # fmt: skip
    setup(store, docs(health.url, windows=[allow]))
    f1 = add_freight(store, "1.0.0")
    with pytest.raises(ConflictError, match=f"next opens at {start:%Y-%m-%dT%H:%M:%S}Z"):
        start_mod.start(store, project="demo", stage="test", freight=f1, actor="alice")


def test_approve_cli_opens_uat_without_upstream(store: Store, health: Health) -> None:
    setup(store, docs(health.url))
    f1 = add_freight(store, "1.0.0")
    with pytest.raises(ConflictError, match="not verified in stage test"):
        start_mod.start(store, project="demo", stage="uat", freight=f1, actor="alice")
    res = CliRunner().invoke(cli, ["approve", "--project", "demo", "--freight", "v1-0-0",
                                   "--stage", "uat"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"freight.kargo.akuity.io/{f1} approved for stage uat" in res.output
    assert status(store, "Freight", f1)["approvedFor"]["uat"]["approvedAt"].endswith("Z")
    started = start_mod.start(store, project="demo", stage="uat", freight=f1, actor="alice")
    assert runner.run(store, Settings(), started.key)["phase"] == "Succeeded"


def test_approval_policy_counts_roles_and_refuses_self(store: Store, health: Health) -> None:
    notes = {"shipway.dev/approvals-required": "2", "shipway.dev/approver-roles": "role:release"}
    rbac = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-rbac-cm", "namespace": "argocd"},
            "data": {"policy.csv": "g, carol, role:release\ng, dave, role:release\n"
                                   "g, ann, role:release\n"}}  # fmt: skip
    import yaml

    setup(store, docs(health.url, uat_notes=notes) + "---\n" + yaml.safe_dump(rbac))
    f1 = add_freight(store, "1.0.0", author="ann <ann@example.org>")
    with pytest.raises(PermissionDeniedError, match="eve has none of the approver roles"):
        approvals.approve(store, "demo", f1, "uat", "eve")
    with pytest.raises(PermissionDeniedError, match="ann made this Freight"):
        approvals.approve(store, "demo", f1, "uat", "ann")
    first = approvals.approve(store, "demo", f1, "uat", "carol")
    assert (first.given, first.required, first.done) == (1, 2, False)
    assert "approvedFor" not in status(store, "Freight", f1)
    with pytest.raises(PermissionDeniedError, match="carol has already approved it"):
        approvals.approve(store, "demo", f1, "uat", "carol")
    assert approvals.approve(store, "demo", f1, "uat", "dave").done
    assert "uat" in status(store, "Freight", f1)["approvedFor"]


def test_abort_pending_and_running(store: Store, health: Health) -> None:
    setup(store, docs(health.url))
    f1 = add_freight(store, "1.0.0")
    started = start_mod.start(store, project="demo", stage="test", freight=f1, actor="alice")
    with pytest.raises(ConflictError, match="already has promotion"):
        start_mod.start(store, project="demo", stage="test", freight=f1, actor="alice")
    res = CliRunner().invoke(cli, ["promotion", "abort", "-n", "demo", started.name])
    assert res.exit_code == 0 and "aborted" in res.output
    assert status(store, "Promotion", started.name)["phase"] == "Aborted"
    # a Running one ends Aborted at its next step
    again = start_mod.start(store, project="demo", stage="test", freight=f1, actor="alice")
    _phase, state = runs.get_state(store, runner.ENGINE, again.key) or ("", {})
    runs.put_state(store, runner.ENGINE, again.key, "Running", state)
    assert runner.request_abort(store, again.key, "bob") == "Running"
    final = runner.run(store, Settings(), again.key)
    assert final["phase"] == "Aborted" and final["message"] == "aborted by bob"
    assert "currentlyIn" not in status(store, "Freight", f1)


def test_release_get_shows_the_freight_journey(store: Store, health: Health) -> None:
    setup(store, docs(health.url, policies=AUTO))
    f1 = add_freight(store, "1.0.0")
    cycle(store)
    res = CliRunner().invoke(cli, ["release", "get", "v1-0-0", "--project", "demo"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith(f"freight {f1}  alias=v1-0-0  registry.example/web:1.0.0@sha256:")
    kinds = [line.split()[2:4] for line in lines[1:]]
    assert kinds == [["promotion", "Pending"], ["promotion", "Succeeded"],
                     ["verification", "Successful"]]  # fmt: skip
    res = CliRunner().invoke(cli, ["release", "get", f1, "-n", "demo", "-o", "json"])
    import json

    doc = json.loads(res.output)
    assert doc["journey"][0]["actor"] == lifecycle.AUTO_ACTOR


def test_twenty_freight_arriving_while_promotions_run(store: Store, health: Health) -> None:
    """Every stage ends on the newest Freight and no promotion is run twice."""
    import threading

    setup(store, docs(health.url, policies=AUTO, soak="0s"))
    stop = threading.Event()

    def controller() -> None:  # the tick and the promotion lane, as the controller runs them
        own = open_store(Settings())
        try:
            while not stop.is_set():
                lifecycle.tick(own, Settings())
                for key in runner.pending(own):
                    runner.run(own, Settings(), key)
                time.sleep(0.02)
        finally:
            own.close()

    worker = threading.Thread(target=controller)
    worker.start()
    try:
        names = []
        for i in range(20):
            names.append(add_freight(store, f"2.0.{i}"))
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(120)
    cycle(store)
    assert holding(store, "test") == names[-1]
    assert holding(store, "uat") == names[-1]
    promoted = [
        (s["stage"], s["freight"]["name"]) for _k, _p, s in runs.states(store, runner.ENGINE)
    ]
    assert len(promoted) == len(set(promoted)), "a Freight was promoted to a stage twice"
    assert {p for _k, p, _s in runs.states(store, runner.ENGINE)} == {"Succeeded"}
