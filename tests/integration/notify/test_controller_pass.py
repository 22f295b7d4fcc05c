"""The controller's periodic tick notifies for a change another process wrote to the store
(here: the test, as ``shipway app sync`` from the CLI would)."""

from __future__ import annotations

import time
from pathlib import Path

from notify_receivers import Receiver
from test_delivery import ANN, TEMPLATE, _app, _cm

from shipway.controller.core import Controller
from shipway.settings import Settings
from shipway.store.db import open_store


def test_the_periodic_tick_delivers(shipway_home: Path, webhook: Receiver) -> None:
    settings = Settings(home=shipway_home)
    store = open_store(settings)
    _cm(store, {"service.webhook.hook": f"url: {webhook.url}\n",
                "template.app-sync-succeeded": TEMPLATE})  # fmt: skip
    _app(store, {f"{ANN}on-sync-succeeded.hook": ""})
    ctl = Controller(settings, store)
    ctl.start_periodic(0.05)
    try:
        deadline = time.monotonic() + 30
        while not webhook.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # more ticks: still one message
    finally:
        ctl.shutdown()
    assert [(r.method, r.path) for r in webhook.requests] == [("POST", "/deploys/guestbook")]
