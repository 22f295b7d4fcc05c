"""Verification, soak, rollback and holds against a real HTTP health endpoint.

Promotions run in this process (``compose-output`` steps, so no git is
needed); the verification engine is advanced by ``lifecycle.tick`` as the
controller's tick does; measurements go over loopback HTTP to a real server.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import yaml
from verify_helpers import Health, add_freight, docs, setup

from shipway.model.errors import ConflictError
from shipway.promote import lifecycle, records, runner, verification
from shipway.promote import start as start_mod
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

pytestmark = pytest.mark.integration


def promote(store: Store, stage: str, freight: str, actor: str = "alice") -> str:
    started = start_mod.start(store, project="demo", stage=stage, freight=freight, actor=actor)
    status = runner.run(store, Settings(), started.key)
    assert status["phase"] == "Succeeded", status
    return started.name


def settle(store: Store, timeout: float = 20.0) -> None:
    """Tick until no verification is unfinished (as the controller's tick would)."""
    deadline = time.monotonic() + timeout
    while verification.unfinished(store):
        lifecycle.tick(store, Settings())
        assert time.monotonic() < deadline, verification.unfinished(store)
        time.sleep(0.05)


def status(store: Store, kind: str, name: str) -> dict[str, Any]:
    return store_resources.get(store, kind, name, "demo").status


def run_pending(store: Store) -> list[dict[str, Any]]:
    out = []
    for key in runner.pending(store):
        out.append(runner.run(store, Settings(), key))
    return out


def test_success_verifies_then_soak_gates_uat(store: Store, health: Health) -> None:
    setup(store, docs(health.url))
    f1 = add_freight(store, "1.0.0")
    promote(store, "test", f1)
    (key,) = verification.unfinished(store)
    run_name = key.split("/", 1)[1]
    assert store_resources.get(store, "AnalysisRun", run_name, "demo").status["phase"] == "Pending"
    settle(store)
    ar = status(store, "AnalysisRun", run_name)
    assert ar["phase"] == "Successful"
    (result,) = ar["metricResults"]
    assert result["measurements"][0]["value"] == "ok" and result["count"] == 1
    assert health.hits == 1
    fr = status(store, "Freight", f1)
    assert fr["verifiedIn"]["test"]["verifiedAt"].endswith("Z")
    stage = status(store, "Stage", "test")
    info = stage["freightHistory"][0]["verificationHistory"][0]
    assert info["phase"] == "Successful" and info["analysisRun"]["name"] == run_name
    assert info["actor"] == "alice"
    verified = next(c for c in stage["conditions"] if c["type"] == "Verified")
    assert verified["status"] == "True"
    (event,) = [e for e in store_events.query(store) if e.reason == "VerificationSucceeded"]
    assert (event.involved.kind, event.involved.name, event.type) == ("Stage", "test", "Normal")
    # uat needs an hour of soak in test: refused, naming the time left
    with pytest.raises(ConflictError, match=r"soaking in stage test: 59m5\ds of 1h left"):
        start_mod.start(store, project="demo", stage="uat", freight=f1, actor="alice")


def test_soak_done_lets_uat_promote(store: Store, health: Health) -> None:
    setup(store, docs(health.url, soak="1s"))
    f1 = add_freight(store, "1.0.0")
    promote(store, "test", f1)
    settle(store)
    time.sleep(1.1)
    promote(store, "uat", f1)
    fr = status(store, "Freight", f1)
    assert set(fr["currentlyIn"]) == {"test", "uat"}
    assert fr["verifiedIn"]["uat"]["verifiedAt"]  # uat has no verification: verified on success


def test_failed_verification_rolls_back_to_last_verified(store: Store, health: Health) -> None:
    setup(store, docs(health.url, policies=[{"stageSelector": {"name": "test"},
                                             "autoRollback": {}}]))  # fmt: skip
    good = add_freight(store, "1.0.0")
    promote(store, "test", good)
    settle(store)
    health.body = {"status": "broken"}
    bad = add_freight(store, "1.1.0")
    promote(store, "test", bad)
    settle(store)
    stage = status(store, "Stage", "test")
    assert stage["freightHistory"][0]["verificationHistory"][0]["phase"] == "Failed"
    hold = stage["autoPromotionHolds"]["Warehouse/web"]
    assert hold["freightName"] == bad and hold["reason"] == "Rollback"
    (pending,) = runner.pending(store)
    promo_name = pending.split("/", 1)[1]
    promo = store_resources.get(store, "Promotion", promo_name, "demo")
    notes = promo.body["metadata"]["annotations"]
    assert notes[start_mod.ROLLBACK_OF] == bad and promo.spec["freight"] == good
    assert notes[start_mod.ACTOR] == lifecycle.ROLLBACK_ACTOR
    assert notes[start_mod.KARGO_ROLLBACK] == "true"  # Kargo's own mark of a rollback
    health.body = {"status": "ok"}
    (done,) = run_pending(store)
    assert done["phase"] == "Succeeded"
    settle(store)
    stage = status(store, "Stage", "test")
    assert stage["freightHistory"][0]["items"]["Warehouse/web"]["name"] == good
    assert "test" not in (status(store, "Freight", bad).get("currentlyIn") or {})
    assert "test" not in (status(store, "Freight", bad).get("verifiedIn") or {})
    kinds = [(e["kind"], e["phase"]) for e in records.journey(store, "demo", bad)]
    assert ("verification", "Failed") in kinds and ("rollback", "Started") in kinds
    assert ("rollback", "Succeeded") in kinds
    reasons = [e.reason for e in store_events.query(store)]
    assert "RolledBack" in reasons and "VerificationFailed" in reasons


def test_no_rollback_without_auto_rollback(store: Store, health: Health) -> None:
    setup(store, docs(health.url))
    promote(store, "test", add_freight(store, "1.0.0"))
    settle(store)
    health.body = {"status": "broken"}
    promote(store, "test", add_freight(store, "1.1.0"))
    settle(store)
    assert runner.pending(store) == []


def test_inconclusive_pauses_for_a_person(store: Store, health: Health) -> None:
    metric = {
        "name": "score",
        "successCondition": "result >= 0.9",
        "failureCondition": "result < 0.5",
        "provider": {"web": {"url": "{{args.base}}/healthz", "jsonPath": "{$.score}"}},
    }
    setup(
        store,
        docs(
            health.url,
            metric=metric,
            policies=[{"stageSelector": {"name": "test"}, "autoRollback": {}}],
        ),
    )
    health.body = {"status": "ok", "score": 0.7}
    f1 = add_freight(store, "1.0.0")
    promote(store, "test", f1)
    settle(store)
    stage = status(store, "Stage", "test")
    info = stage["freightHistory"][0]["verificationHistory"][0]
    assert info["phase"] == "Inconclusive"
    assert 'Metric "score" assessed Inconclusive' in info["message"]
    cond = next(c for c in stage["conditions"] if c["type"] == "Verified")
    assert cond["status"] == "Unknown" and "waits for a person" in cond["message"]
    assert runner.pending(store) == []  # no rollback
    assert "test" not in (status(store, "Freight", f1).get("verifiedIn") or {})
    # the person re-runs it once the score is fixed
    health.body = {"status": "ok", "score": 0.95}
    assert verification.verify_stage(store, "demo", "test", actor="bob")
    settle(store)
    assert "test" in status(store, "Freight", f1)["verifiedIn"]


def test_errors_count_to_consecutive_error_limit(store: Store, health: Health) -> None:
    metric = {
        "name": "health",
        "interval": "0.2s",
        "count": 2,
        "consecutiveErrorLimit": 1,
        "successCondition": "result == 'ok'",
        "provider": {"web": {"url": "{{args.base}}/healthz", "jsonPath": "{$.status}"}},
    }
    setup(store, docs(health.url, metric=metric))
    health.code = 500
    promote(store, "test", add_freight(store, "1.0.0"))
    settle(store)
    (run,) = store_resources.list_kind(store, "AnalysisRun", "demo")
    assert run.status["phase"] == "Error"
    res = run.status["metricResults"][0]
    assert res["error"] == 2 and res["count"] == 0
    assert "received non 2xx response code: 500" in res["measurements"][-1]["message"]
    assert "consecutiveErrors (2) > consecutiveErrorLimit (1)" in run.status["message"]


def test_a_promotion_aborts_the_running_verification(store: Store, health: Health) -> None:
    metric = {"name": "health", "initialDelay": "1h", "provider": {"web": {"url": health.url}}}
    setup(store, docs(health.url, metric=metric))
    promote(store, "test", add_freight(store, "1.0.0"))
    lifecycle.tick(store, Settings())
    (first,) = verification.unfinished(store)
    promote(store, "test", add_freight(store, "1.1.0"))
    lifecycle.tick(store, Settings())
    phase, state = runs.get_state(store, verification.ENGINE, first) or ("", {})
    assert phase == "Aborted" and "replaced by promotion" in state["message"]
    assert len(verification.unfinished(store)) == 1


def test_soak_time_left_shown_in_wide_listings(store: Store, health: Health) -> None:
    from click.testing import CliRunner

    from shipway.cli.main import cli

    setup(store, docs(health.url))
    f1 = add_freight(store, "1.0.0")
    promote(store, "test", f1)
    settle(store)
    assert lifecycle.soak_pass(store) == 0  # the ticks wrote it; a pass writes no change
    soak = status(store, "Stage", "uat")["soak"]
    assert soak["freight"] == f1 and soak["requiredSoakTime"] == "1h"
    res = CliRunner().invoke(cli, ["get", "stages", "-n", "demo", "-o", "wide"])
    assert res.exit_code == 0, res.output
    (uat,) = [line for line in res.output.splitlines() if line.startswith("uat")]
    assert f"{f1[:7]}: 59m" in uat and "s left" in uat
    res = CliRunner().invoke(cli, ["get", "freight", "-n", "demo", "-o", "wide"])
    assert res.exit_code == 0, res.output
    assert "VERIFIED IN" in res.output and "test (in " in res.output


def _project_config(store: Store, windows: list[dict[str, Any]]) -> None:
    from shipway.model.resources import parse_text

    doc = {"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "ProjectConfig",
           "metadata": {"name": "demo", "namespace": "demo"},
           "spec": {"promotionPolicies": [{"stageSelector": {"name": "test"},
                                           "autoRollback": {}}],
                    "promotionWindows": windows}}  # fmt: skip
    store_resources.apply(store, parse_text(yaml.safe_dump(doc), "pc.yaml"))


def test_a_closed_window_holds_the_rollback_until_it_opens(store: Store, health: Health) -> None:
    # Kargo: windows gate every promotion, rollbacks included; a short freeze resumes the
    # pending rollback when it reopens, a long one outlasts the 20-minute horizon.
    setup(store, docs(health.url, policies=[{"stageSelector": {"name": "test"},
                                             "autoRollback": {}}]))  # fmt: skip
    good = add_freight(store, "1.0.0")
    promote(store, "test", good)
    settle(store)
    health.body = {"status": "broken"}
    bad = add_freight(store, "1.1.0")
    promote(store, "test", bad)
    today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y%m%d")
    _project_config(
        store,
        [
            {
                "name": "freeze",
                "kind": "Deny",
                "dtstart": f"{today}T000000Z",
                "dtend": f"{until}T000000Z",
            }
        ],
    )
    settle(store)
    assert runner.pending(store) == []  # held back by the freeze
    kinds = [(e["kind"], e["phase"]) for e in records.journey(store, "demo", bad)]
    assert ("verification", "Failed") in kinds and ("rollback", "Waiting") in kinds
    waiting = [e for e in records.journey(store, "demo", bad) if e["phase"] == "Waiting"]
    assert "deny window freeze is open until" in waiting[0]["message"]
    lifecycle.tick(store, Settings())
    assert runner.pending(store) == []  # still frozen: still waiting, told once
    assert [e["phase"] for e in records.journey(store, "demo", bad)].count("Waiting") == 1
    _project_config(store, [])  # the freeze is lifted
    lifecycle.tick(store, Settings())
    (pending,) = runner.pending(store)
    promo = store_resources.get(store, "Promotion", pending.split("/", 1)[1], "demo")
    assert promo.spec["freight"] == good
    assert promo.body["metadata"]["annotations"][start_mod.ROLLBACK_OF] == bad
    assert [p for _k, p, _s in runs.states(store, lifecycle.PENDING)] == ["Started"]


def test_a_rollback_held_past_twenty_minutes_is_left_to_a_person(
    store: Store, health: Health
) -> None:
    setup(store, docs(health.url, policies=[{"stageSelector": {"name": "test"},
                                             "autoRollback": {}}]))  # fmt: skip
    good = add_freight(store, "1.0.0")
    promote(store, "test", good)
    settle(store)
    health.body = {"status": "broken"}
    bad = add_freight(store, "1.1.0")
    promote(store, "test", bad)
    today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y%m%d")
    _project_config(
        store,
        [
            {
                "name": "freeze",
                "kind": "Deny",
                "dtstart": f"{today}T000000Z",
                "dtend": f"{until}T000000Z",
            }
        ],
    )
    settle(store)
    later = records.now() + lifecycle.MAX_FAILURE_AGE + dt.timedelta(minutes=1)
    assert lifecycle.retry_rollbacks(store, now=later) == 0
    assert [p for _k, p, _s in runs.states(store, lifecycle.PENDING)] == ["Expired"]
    _project_config(store, [])
    lifecycle.tick(store, Settings())
    assert runner.pending(store) == []  # expired: not started even once the window opens
    reasons = [e.reason for e in store_events.query(store)]
    assert "RollbackWaiting" in reasons and "RollbackExpired" in reasons


def test_a_waiting_rollback_is_dropped_once_newer_freight_replaced_the_failed(
    store: Store, health: Health
) -> None:
    # Kargo waits for the stage to settle so a queued promotion may resolve the failure:
    # once other Freight runs there, the waiting rollback has nothing left to undo
    setup(store, docs(health.url, policies=[{"stageSelector": {"name": "test"},
                                             "autoRollback": {}}]))  # fmt: skip
    good = add_freight(store, "1.0.0")
    promote(store, "test", good)
    settle(store)
    health.body = {"status": "broken"}
    bad = add_freight(store, "1.1.0")
    promote(store, "test", bad)
    today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y%m%d")
    _project_config(
        store,
        [
            {
                "name": "freeze",
                "kind": "Deny",
                "dtstart": f"{today}T000000Z",
                "dtend": f"{until}T000000Z",
            }
        ],
    )
    settle(store)
    assert [p for _k, p, _s in runs.states(store, lifecycle.PENDING)] == ["Waiting"]
    _project_config(store, [])
    health.body = {"status": "ok"}
    fixed = add_freight(store, "1.1.1")
    promote(store, "test", fixed)  # a person ships the fix first
    lifecycle.tick(store, Settings())
    assert [p for _k, p, _s in runs.states(store, lifecycle.PENDING)] == ["Superseded"]
    assert runner.pending(store) == []
    reasons = [e.reason for e in store_events.query(store)]
    assert "RollbackSuperseded" in reasons
