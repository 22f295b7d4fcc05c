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


def test_the_notifier_loop_delivers_an_event_without_waiting_for_the_tick(
    shipway_home: Path, webhook: Receiver
) -> None:
    from shipway.model import events as ev
    from shipway.model.resources import parse_text
    from shipway.store import events, resources

    settings = Settings(home=shipway_home)
    store = open_store(settings)
    resources.apply(store, parse_text(f"""\
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {{name: hook, namespace: shop}}
spec: {{type: generic, address: "{webhook.url}/flux"}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {{name: all, namespace: shop}}
spec:
  providerRef: {{name: hook}}
  eventSources: [{{kind: Stage, name: '*'}}]
""", "flux.yaml"))  # fmt: skip
    ctl = Controller(settings, store)
    ctl.start_periodic(3600.0)  # the tick never comes during the test
    try:
        time.sleep(0.5)
        events.emit(store, ev.ObjectRef("Stage", "prod", "shop"), ev.VERIFICATION_FAILED,
                    "error rate 7%", type=ev.WARNING, source="verification")  # fmt: skip
        deadline = time.monotonic() + 20
        while not webhook.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        ctl.shutdown()
    assert [r.path for r in webhook.requests] == ["/flux"]
