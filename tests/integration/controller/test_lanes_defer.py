"""Lanes defer to hooks in flight, but are never starved by them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shipway.controller import workers
from shipway.settings import Settings
from shipway.store import inbox
from shipway.store.db import open_store

pytestmark = pytest.mark.integration


def test_a_lane_still_drains_while_hooks_never_stop_coming(tmp_path: Path) -> None:
    store = open_store(Settings(home=tmp_path, database_url=""))
    quiet = threading.Event()  # clear: a hook is always in flight
    handled: list[int] = []
    done = threading.Event()

    def handler(item: inbox.Item, _owner: str) -> None:
        handled.append(item.payload["n"])
        if len(handled) == 5:
            done.set()

    lanes = workers.Lanes(store, [workers.LaneSpec("t", ("t",), 1, handler)], quiet=quiet)
    for n in range(5):
        inbox.put(store, "t", {"n": n})
    lanes.start()
    try:
        assert done.wait(30), handled
        lanes.stop()
        assert sorted(handled) == [0, 1, 2, 3, 4]
        assert inbox.counts(store, ["t"]) == {"done": 5}
    finally:
        lanes.stop()
        store.close()
