"""``concurrency:`` groups: one running and at most one pending entrant per group.

A new entrant either cancels the running holder (``cancel-in-progress``) or
waits as the pending one, cancelling any older pending entrant, as GitHub
documents. ``hold_shared`` keeps the group in the store, so every process on
the same database obeys it (the store is the source of truth; a holder's
process polls about once a second, cancels its steps when asked, and a dead
holder is released through its heartbeat). ``hold`` is the same within one
process, for runs without a store. Groups are scoped by the caller
(repository + name). ``superseding`` is GitLab's auto-cancel of redundant
pipelines on the same groups and heartbeats: a newer entrant runs at once and
the older ones are told who asked them to give way.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from shipway.model.errors import ExternalError
from shipway.runtime.host import Cancel
from shipway.store import ci_coord
from shipway.store.db import Store

_LOCK = threading.Lock()
POLL_SECONDS = 0.5


@dataclass
class _Group:
    running: Cancel | None = None
    pending: Cancel | None = None
    released: threading.Condition = field(default_factory=lambda: threading.Condition(_LOCK))


_GROUPS: dict[str, _Group] = {}


@contextmanager
def hold(group: str, cancel: Cancel, cancel_in_progress: bool) -> Iterator[bool]:
    """Hold ``group`` for the block; yields False when this entrant was cancelled while pending."""
    with _LOCK:
        g = _GROUPS.setdefault(group, _Group())
        if g.running is not None:
            if cancel_in_progress:
                g.running.cancel()
            if g.pending is not None:
                g.pending.cancel()
                g.released.notify_all()
            g.pending = cancel
            while g.running is not None and not cancel.event.is_set():
                g.released.wait(timeout=1.0)
            if g.pending is cancel:
                g.pending = None
            if cancel.event.is_set():
                acquired = False
            else:
                g.running = cancel
                acquired = True
        else:
            g.running = cancel
            acquired = True
    try:
        yield acquired
    finally:
        if acquired:
            with _LOCK:
                if g.running is cancel:
                    g.running = None
                g.released.notify_all()


@contextmanager
def hold_shared(
    store: Store,
    group: str,
    holder: str,
    cancel: Cancel,
    cancel_in_progress: bool,
    log: Callable[[str], None] = lambda _line: None,
) -> Iterator[bool]:
    """Hold ``group`` across processes for the block; yields False when cancelled while pending.

    While the block runs, a heartbeat thread keeps the entry alive and calls
    ``cancel.cancel()`` when a newer entrant with ``cancel-in-progress`` asks.
    """
    holder = f"{holder}#{uuid.uuid4().hex[:8]}"
    entry, state = ci_coord.enter(store, group, holder, cancel_in_progress)
    if state == "pending":
        log(f"Waiting: another run holds concurrency group {group!r}")
    asked = False
    while state == "pending" and not cancel.event.is_set():
        cancel.event.wait(POLL_SECONDS)
        state, asked = _poll(store, group, entry)
    if state != "running" or cancel.event.is_set():
        ci_coord.leave(store, entry)
        yield False
        return
    stop = threading.Event()

    def asked_to_cancel() -> None:
        if not cancel.event.is_set():
            _cancelled(cancel, group, log)

    beat = threading.Thread(target=_heartbeat, args=(store, group, entry, stop, asked_to_cancel),
                            daemon=True, name=f"concurrency {group}")  # fmt: skip
    beat.start()
    if asked:
        _cancelled(cancel, group, log)
    try:
        yield True
    finally:
        stop.set()
        beat.join()
        ci_coord.leave(store, entry)


def _poll(store: Store, group: str, entry: int) -> tuple[str, bool]:
    try:
        return ci_coord.poll(store, group, entry)
    except ExternalError:  # a busy database: try again on the next beat
        return "pending", False


def _cancelled(cancel: Cancel, group: str, log: Callable[[str], None]) -> None:
    log(f"Canceling since a higher priority waiting request for {group!r} exists")
    cancel.cancel()


def _heartbeat(
    store: Store,
    group: str,
    entry: int,
    stop: threading.Event,
    on_asked: Callable[[], None],
) -> None:
    """Keep ``entry`` alive until ``stop``; call ``on_asked`` on each beat that finds it
    asked to give way."""
    while not stop.wait(POLL_SECONDS * 2):
        try:
            state, asked = ci_coord.poll(store, group, entry)
        except ExternalError:
            continue
        if asked and state == "running":
            on_asked()


@contextmanager
def superseding(
    store: Store,
    group: str,
    holder: str,
    spares: Callable[[str], bool],
    on_asked: Callable[[str], None],
) -> Iterator[list[str]]:
    """Run in ``group`` at once, asking its older entrants (those ``spares`` does not
    spare) to give way; yields the holders asked. While the block runs, the first beat
    that finds this entrant asked by a newer one calls ``on_asked(asker)`` (once).

    GitLab's redundant pipelines: the asked pipeline decides what of it to cancel.
    """
    entry, asked = ci_coord.supersede(store, group, f"{holder}#{uuid.uuid4().hex[:8]}", spares)
    stop = threading.Event()
    told = threading.Event()

    def asked_once() -> None:
        if told.is_set():
            return
        try:
            by = ci_coord.asked_by(store, entry)
        except ExternalError:  # a busy database: the next beat asks again
            return
        told.set()
        on_asked(by or "")

    beat = threading.Thread(target=_heartbeat, args=(store, group, entry, stop, asked_once),
                            daemon=True, name=f"supersede {group}")  # fmt: skip
    beat.start()
    try:
        yield asked
    finally:
        stop.set()
        beat.join()
        ci_coord.leave(store, entry)
