"""The controller drives it all: its promotion tick verifies and auto-promotes, its promotion
lane runs what was queued; a failed promotion rolls back per ``onPromotion``; a verification
survives a restart of the process that ticks it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from verify_helpers import Health, add_freight, docs, setup

from shipway.controller.core import Controller
from shipway.promote import lifecycle, runner, verification
from shipway.promote import start as start_mod
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


def wait(what: str, cond: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def holding(store: Store, stage: str) -> str:
    st = store_resources.get(store, "Stage", stage, "demo").status
    history = st.get("freightHistory") or [{}]
    return str(((history[0].get("items") or {}).get("Warehouse/web") or {}).get("name", ""))


def verified(store: Store, freight: str, stage: str) -> bool:
    st = store_resources.get(store, "Freight", freight, "demo").status or {}
    return stage in (st.get("verifiedIn") or {})


def test_controller_auto_promotes_verifies_and_rolls_back(store: Store, health: Health) -> None:
    policies = [{"stageSelector": {"name": "test"}, "autoPromotionEnabled": True,
                 "autoRollback": {}}]  # fmt: skip
    setup(store, docs(health.url, policies=policies))
    ctl = Controller(Settings(), store)
    ctl.start(resync=3600)
    try:
        good = add_freight(store, "1.0.0")
        wait("good verified in test", lambda: verified(store, good, "test"))
        health.body = {"status": "broken"}
        bad = add_freight(store, "1.1.0")
        wait("bad promoted", lambda: holding(store, "test") == bad)
        wait("rolled back to good", lambda: holding(store, "test") == good
             and not start_mod.busy(store, "demo", "test"))  # fmt: skip
        hold = store_resources.get(store, "Stage", "test", "demo").status["autoPromotionHolds"]
        assert hold["Warehouse/web"]["freightName"] == bad
    finally:
        ctl.shutdown()


def test_failed_promotion_rolls_back_on_promotion(store: Store, health: Health) -> None:
    policies = [{"stageSelector": {"name": "test"},
                 "autoRollback": {"onPromotion": ["Failed"]}}]  # fmt: skip
    setup(store, docs(health.url, policies=policies))
    good = add_freight(store, "1.0.0")
    bad = add_freight(store, "1.1.0")
    stage = store_resources.get(store, "Stage", "test", "demo")
    steps = stage.body["spec"]["promotionTemplate"]["spec"]["steps"]
    steps.insert(0, {"uses": "fail", "as": "gate", "if": "${{ ctx.targetFreight.name == '"
                     + bad + "' }}", "config": {"message": "bad build"}})  # fmt: skip
    store_resources.apply(store, [stage])
    first = start_mod.start(store, project="demo", stage="test", freight=good, actor="alice")
    assert runner.run(store, Settings(), first.key)["phase"] == "Succeeded"
    lifecycle.tick(store, Settings())
    second = start_mod.start(store, project="demo", stage="test", freight=bad, actor="alice")
    assert runner.run(store, Settings(), second.key)["phase"] == "Failed"
    (pending,) = runner.pending(store)
    promo = store_resources.get(store, "Promotion", pending.split("/", 1)[1], "demo")
    assert promo.spec["freight"] == good
    assert promo.body["metadata"]["annotations"][start_mod.ROLLBACK_OF] == bad
    assert runner.run(store, Settings(), pending)["phase"] == "Succeeded"


def test_verification_resumes_in_a_new_process(shipway_home: Path, health: Health) -> None:
    metric = {
        "name": "health",
        "interval": "0.3s",
        "count": 3,
        "successCondition": "result == 'ok'",
        "provider": {"web": {"url": "{{args.base}}/healthz", "jsonPath": "{$.status}"}},
    }
    first = open_store(Settings())
    setup(first, docs(health.url, metric=metric))
    f1 = add_freight(first, "1.0.0")
    started = start_mod.start(first, project="demo", stage="test", freight=f1, actor="alice")
    runner.run(first, Settings(), started.key)
    lifecycle.tick(first, Settings())
    (key,) = verification.unfinished(first)
    first.close()  # the ticking process is gone; its state is in the store
    assert health.hits == 1
    again = open_store(Settings())
    try:
        wait("the verification", lambda: (lifecycle.tick(again, Settings()),
                                          not verification.unfinished(again))[1])  # fmt: skip
        phase, state = verification.phase_of(again, key) or ("", {})
        assert phase == "Successful"
        assert state["results"]["health"]["count"] == 3 and health.hits == 3
        assert yaml.safe_dump(state)  # plain data
    finally:
        again.close()
