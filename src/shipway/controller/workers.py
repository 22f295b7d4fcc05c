"""Workers that take items from the durable inbox, one lane per kind of work.

A lane is a few threads taking the item kinds it handles (``take`` leases an
item; a beat renews the lease while the handler runs, so only a dead worker's
item is taken again). A handler ends its item itself (``inbox.expand``) or
returns and the lane marks it done. A handler that raises ``ExternalError``
(a git server or registry that did not answer) is retried with backoff up to
``RETRIES`` attempts; any other failure ends the item as failed, with the
error kept. ``wake()`` makes idle lanes look at once; they also look every
``POLL`` seconds, for items other processes wrote. Given ``quiet`` (an event
the hook receivers clear while hooks are in flight), a lane waits for it up to
``DEFER`` seconds before taking each item: a burst of webhooks is accepted
first (its latency is what the sender sees) and drained right after, the
workers never starved for longer than that per item. Touches only the store;
handlers do the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shipway.model.errors import ExternalError, ShipwayError
from shipway.store import inbox
from shipway.store.db import Store

log = logging.getLogger("shipway.controller")

LEASE = 30.0
POLL = 1.0
RETRIES = 5
DEFER = 0.05

Handler = Callable[[inbox.Item, str], None]


@dataclass(frozen=True)
class LaneSpec:
    name: str
    kinds: tuple[str, ...]
    threads: int
    handler: Handler


class Lanes:
    """All lanes of one controller; ``start`` once, ``stop`` to finish after current items."""

    def __init__(
        self,
        store: Store,
        specs: list[LaneSpec],
        lease: float = LEASE,
        quiet: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.specs = specs
        self.lease = lease
        self.quiet = quiet
        self._stop = threading.Event()
        self._wake = {spec.name: threading.Condition() for spec in specs}
        self._gen = dict.fromkeys(self._wake, 0)
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()

    def start(self) -> None:
        if self._threads:
            return
        for spec in self.specs:
            for n in range(spec.threads):
                t = threading.Thread(target=self._loop, args=(spec,), daemon=True,
                                     name=f"{spec.name}-{n}")  # fmt: skip
                t.start()
                self._threads.append(t)

    @property
    def started(self) -> bool:
        return bool(self._threads)

    def wake(self, *kinds: str) -> None:
        """Make the idle threads of the lanes that take ``kinds`` (all lanes: none given) look."""
        for spec in self.specs:
            if kinds and not set(kinds) & set(spec.kinds):
                continue
            cond = self._wake[spec.name]
            with cond:
                self._gen[spec.name] += 1
                cond.notify(len(kinds) if kinds else spec.threads)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def idle(self) -> bool:
        """No item waiting or leased, and no handler running (of any lane's kinds)."""
        kinds = [k for s in self.specs for k in s.kinds]
        counts = inbox.counts(self.store, kinds)
        with self._busy_lock:
            busy = self._busy
        return not busy and not counts.get(inbox.PENDING) and not counts.get(inbox.LEASED)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.05)
        return False

    def _loop(self, spec: LaneSpec) -> None:
        owner = inbox.owner_id()
        cond = self._wake[spec.name]
        while not self._stop.is_set():
            with cond:
                seen = self._gen[spec.name]
            if self.quiet is not None:
                self.quiet.wait(DEFER)  # hooks in flight go first
            try:
                item = inbox.take(self.store, owner, spec.kinds, self.lease)
            except ShipwayError as exc:
                log.warning("%s lane cannot take work: %s", spec.name, exc)
                item = None
            if item is None:
                with cond:
                    if self._gen[spec.name] == seen and not self._stop.is_set():
                        cond.wait(POLL)
                continue
            with self._busy_lock:
                self._busy += 1
            try:
                self._handle(spec, item, owner)
            finally:
                with self._busy_lock:
                    self._busy -= 1

    def _handle(self, spec: LaneSpec, item: inbox.Item, owner: str) -> None:
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(item.id, owner, done), daemon=True)
        beat.start()
        try:
            spec.handler(item, owner)
        except ExternalError as exc:
            if item.attempts < RETRIES:
                log.warning("%s item %s failed (attempt %s), will retry: %s", item.kind,
                            item.id, item.attempts, exc)  # fmt: skip
                inbox.retry(self.store, item.id, owner, 2.0**item.attempts, str(exc))
                return
            inbox.complete(self.store, item.id, owner, error=str(exc))
        except Exception as exc:  # a worker survives any one failure; the item keeps the error
            log.exception("%s item %s failed", item.kind, item.id)
            inbox.complete(self.store, item.id, owner, error=f"{type(exc).__name__}: {exc}")
        else:
            inbox.complete(self.store, item.id, owner)  # no-op when the handler expanded it
        finally:
            done.set()

    def _beat(self, item_id: int, owner: str, done: threading.Event) -> None:
        while not done.wait(self.lease / 3):
            try:
                if not inbox.extend(self.store, item_id, owner, self.lease):
                    return
            except ShipwayError as exc:
                log.warning("cannot renew the lease of item %s: %s", item_id, exc)
