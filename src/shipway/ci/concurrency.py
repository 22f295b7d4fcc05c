"""``concurrency:`` groups within this process: one running and at most one pending.

A new entrant either cancels the running holder (``cancel-in-progress``) or
waits as the pending one, cancelling any older pending entrant, as GitHub
documents. Thread-safe; groups are scoped by the caller (repository + name).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from shipway.runtime.host import Cancel

_LOCK = threading.Lock()


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
