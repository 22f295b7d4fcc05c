"""The controller's promotion lane: Pending promotions run, Running ones resume at start."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from promote_helpers import freight

from shipway.controller import promotions
from shipway.controller.core import Controller
from shipway.promote import runner
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import inbox, runs
from shipway.store.db import open_store

pytestmark = pytest.mark.integration


def test_controller_runs_pending_and_resumes_running(shipway_home: Path) -> None:
    settings = Settings(home=shipway_home)
    store = open_store(settings)
    step = [{"uses": "compose-output", "as": "out", "config": {"stage": "${{ ctx.stage }}"}}]
    pending = runner.create(store, project="demo", name="a", stage="test", freight=freight(),
                            steps=step)  # fmt: skip
    left = runner.create(store, project="demo", name="b", stage="uat", freight=freight(),
                         steps=step)  # fmt: skip
    _, state = runner.phase_of(store, left)  # type: ignore[misc]
    runs.put_state(store, runner.ENGINE, left, "Running", state)  # as a killed runner leaves it
    ctl = Controller(settings, store)
    ctl.start_workers()
    try:
        ctl.resume_interrupted()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            phases = [runner.phase_of(store, k)[0] for k in (pending, left)]  # type: ignore[index]
            if phases == ["Succeeded", "Succeeded"]:
                break
            time.sleep(0.1)
        assert phases == ["Succeeded", "Succeeded"]
        assert runner.phase_of(store, left)[1]["outputs"]["out"] == {"stage": "uat"}  # type: ignore[index]
        # a second item for a finished promotion runs nothing again
        promotions.enqueue(store, pending)
        ctl.lanes.wake(promotions.KIND)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            inbox.counts(store, [promotions.KIND]).get(inbox.DONE, 0) < 3
        ):
            time.sleep(0.1)
        assert inbox.counts(store, [promotions.KIND]) == {inbox.DONE: 3}
        started = [e for e in store_events.query(store, kind="Promotion", name="a")
                   if e.reason == "PromotionStarted"]  # fmt: skip
        assert sum(e.count for e in started) == 1
    finally:
        ctl.lanes.stop()
        store.close()
