"""The controller's promotion lane: runs Pending promotions, resumes Running ones at start.

``shipway promote`` (with a controller running) records the Promotion as
Pending and puts a ``promotion`` inbox item with its key; the lane's handler
runs it with ``promote.runner``. A controller killed mid-promotion leaves the
item leased and the promotion Running: on restart the item is taken back
and the runner continues at the step it was on; ``enqueue_unfinished``
also puts an item for every Running or Pending promotion that has none
(one a killed ``shipway promote`` process left). Touches the store and
the runner only.
"""

from __future__ import annotations

import logging

from shipway.model.errors import ShipwayError
from shipway.promote import runner
from shipway.settings import Settings
from shipway.store import inbox, runs
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")

KIND = "promotion"


def enqueue(store: Store, key: str) -> None:
    inbox.put(store, KIND, {"key": key})


def enqueue_unfinished(store: Store) -> int:
    keys = [
        k for k, phase, _ in runs.states(store, runner.ENGINE) if phase in ("Pending", "Running")
    ]
    inbox.put_many(store, [inbox.New(KIND, {"key": k}) for k in keys])
    return len(keys)


def handle(store: Store, settings: Settings, item: inbox.Item) -> None:
    key = str(item.payload["key"])
    try:
        status = runner.run(store, settings, key)
    except ShipwayError as exc:  # already running in this process, or gone
        log.info("promotion %s: %s", key, exc)
        return
    log.info("promotion %s: %s %s", key, status["phase"], status.get("message", ""))
