"""The CronJob tick: run due CronJobs of every application deployed to a podman target.

A Kubernetes cluster schedules its own CronJobs; on the podman host the
controller does, by calling ``tick`` about every ``INTERVAL`` seconds
(``start`` runs that loop on a thread). An application being synced right
now is skipped until the next tick (``engine.app_lock``), so a tick never
races a sync's orphan removal. Scheduling itself is in
``shipway.cluster.podman_cron``; this module only finds the applications and
their targets, and logs what started or was skipped as an event of the
Application. Touches the store (read, events) and the podman targets.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from shipway.cluster import podman_cron
from shipway.cluster.podman import PodmanTarget
from shipway.deploy import compare as cmp
from shipway.deploy.engine import app_lock
from shipway.model.errors import ShipwayError
from shipway.settings import Settings
from shipway.settings import load as load_settings
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

INTERVAL = 20.0
log = logging.getLogger("shipway.deploy.cronjobs")


def tick(
    store: Store, *, settings: Settings | None = None, now: dt.datetime | None = None
) -> list[str]:
    """Start what is due for the CronJobs of every podman-hosted application."""
    now = now or dt.datetime.now(dt.UTC)
    settings = settings or load_settings()
    loaded = cmp.Loaded.load(store)
    out: list[str] = []
    for app in store_resources.list_kind(store, "Application"):
        lock = app_lock(app.name)
        if not lock.acquire(blocking=False):
            continue
        try:
            target = cmp.target_for(settings, app, loaded)  # connected once per target
            if not isinstance(target, PodmanTarget):
                continue
            messages = podman_cron.tick(target, app.name, now)
        except ShipwayError as exc:
            log.error("CronJobs of %s: %s", app.name, exc)
            continue
        finally:
            lock.release()
        for msg in messages:
            reason = "CronJobSkipped" if "skipped" in msg else "CronJobRun"
            runs.record_event(store, "deploy", f"Application/{app.name}", reason, msg)
        out += [f"{app.name}: {m}" for m in messages]
    return out


def start(store: Store, stop: threading.Event, interval: float = INTERVAL) -> threading.Thread:
    """Run ``tick`` every ``interval`` seconds on a daemon thread until ``stop`` is set."""

    def loop() -> None:
        while not stop.wait(interval):
            try:
                tick(store)
            except Exception:  # the loop must survive any one failure
                log.exception("CronJob tick failed")

    thread = threading.Thread(target=loop, name="cronjobs", daemon=True)
    thread.start()
    return thread
