"""Counting webhooks by source and outcome, written to the store in batches.

``shipway_webhooks_received_total{source,outcome}`` is read from the store
(``WebhookReceived`` events on ``Receiver/<source>``, aggregated like kubectl
events), so every process reports the same totals. Writing that event on the
request path cost a store write per webhook, under the same write lock as the
inbox; instead ``Counter.add`` counts in memory and one writer thread stores
the counts a few times a second (one aggregated event per source and outcome,
``count`` = how many), and ``flush`` stores what is pending before a scrape
and at shutdown. A process killed with SIGKILL loses at most the counts of
the last ``INTERVAL`` (never an accepted event: those are in the inbox).
``CountWebhooks`` is the ASGI middleware that counts every ``POST
/hooks/<source>`` by its response status. Touches only the events table.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from typing import Any

from shipway.model import events as ev
from shipway.store import events as store_events
from shipway.store.db import Store

WEBHOOK = "WebhookReceived"
INTERVAL = 0.25


def record_webhook(store: Store, source: str, outcome: str, count: int = 1) -> None:
    """Store ``count`` webhooks of ``source`` (git, forge, registry) with ``outcome``."""
    store_events.emit(store, ev.ObjectRef("Receiver", source), WEBHOOK, outcome,
                      type=ev.NORMAL if outcome == "accepted" else ev.WARNING,
                      source="controller", count=count)  # fmt: skip


def outcome(status: int) -> str:
    """A webhook's outcome label from its HTTP status."""
    if status < 300:
        return "accepted"
    if status in (401, 403):
        return "unauthorized"
    if status == 413:
        return "too-large"
    return "invalid" if status < 500 else "error"


class Counter:
    """Counts in memory; a daemon thread writes them every ``INTERVAL`` seconds."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: Tally[tuple[str, str]] = Tally()
        self._lock = threading.Lock()
        self._write = threading.Lock()  # one writer at a time (the thread, a scrape, shutdown)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, source: str, result: str) -> None:
        with self._lock:
            self._pending[(source, result)] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="shipway-webhook-counter")  # fmt: skip
                self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        """Store every pending count now."""
        with self._write:
            with self._lock:
                batch, self._pending = self._pending, Tally()
            try:
                for (source, result), n in sorted(batch.items()):
                    record_webhook(self.store, source, result, n)
                    del batch[(source, result)]
            finally:
                if batch:  # the store refused: keep the rest for the next flush
                    with self._lock:
                        self._pending.update(batch)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            threading.Event().wait(INTERVAL)  # let a burst gather into one write
            try:
                self.flush()
            except Exception:  # a busy store: the counts stay pending, retried next time
                threading.Event().wait(INTERVAL)
                self._wake.set()


_counters: dict[int, Counter] = {}
_guard = threading.Lock()


def counter(store: Store) -> Counter:
    """The one counter of ``store`` in this process."""
    with _guard:
        return _counters.setdefault(id(store), Counter(store))


def flush_all() -> None:
    """Store what every counter of this process holds (before a scrape, at shutdown)."""
    with _guard:
        counters = list(_counters.values())
    for c in counters:
        c.flush()


class CountWebhooks:
    """ASGI middleware: counts each ``POST /hooks/<source>`` by its response status."""

    def __init__(self, app: Any, store: Store) -> None:
        self.app, self.counter = app, counter(store)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith(("/hooks/", "/hook/"))
        ):
            await self.app(scope, receive, send)
            return
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            source = path.removeprefix("/hooks/").strip("/").split("/")[0][:50] or "unknown"
            if path.startswith("/hook/"):
                source = "flux-receiver"
            self.counter.add(source, outcome(status[0]))
