"""The controller's notifier loop: a notification pass soon after anything happens.

Every ``poll`` seconds it reads two cheap facts, the event stream's last
position (``events.last_seq``: a sync, a promotion, a CI run or a preview in
any process moves it) and the outbox's next due time (retries, held and
aggregated rows); when either calls for it, it runs ``worker.run_pass``. So
an event is delivered within about ``poll`` plus the pass itself, not at the
next periodic tick. On PostgreSQL the loop sleeps on the store's change
notifications instead (``Store.listener``: a write to ``events`` in any process
wakes it at once), checking the two facts at least every ``fallback`` seconds
and at the outbox's next due time. Touches the store (through the notifier).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from shipway.notify import worker
from shipway.store import events, outbox
from shipway.store.db import Store

log = logging.getLogger(__name__)

POLL = 0.2
WAIT = 1.0
"""How long a pass waits for its deliveries: a stalled service's rows finish in their lane
(``shipway.notify.lanes``) while the loop goes on."""


FALLBACK = 0.5
"""On PostgreSQL: the longest sleep between two looks, in case a notification is lost (and
how soon a stop is seen)."""
_TABLES = ("events",)


def loop(store: Store, stop: threading.Event, poll: float = POLL,
         fallback: float = FALLBACK) -> None:  # fmt: skip
    seen, due = -1, None
    listener = store.listener()
    mark = listener.mark(_TABLES) if listener is not None else 0
    first = listener is not None  # a first look at once: what came before the mark was taken
    while True:
        if listener is None:
            if stop.wait(poll):
                return
        elif first:
            first = False
        else:
            now = dt.datetime.now(dt.UTC)
            until = fallback if due is None else min(fallback, (due - now).total_seconds())
            until = max(until, poll)  # a row due and still waiting in its lane: no busy loop
            mark = listener.wait(_TABLES, mark, timeout=until)
            if stop.is_set():
                return
        try:
            seq = events.last_seq(store)
            due = outbox.next_due(store)
            now = dt.datetime.now(dt.UTC)
            if seq != seen or (due is not None and due <= now):
                seen = seq
                worker.run_pass(store, wait=WAIT)
                due = outbox.next_due(store)
        except Exception:
            log.exception("notification pass failed")


def start(store: Store, stop: threading.Event, poll: float = POLL,
          fallback: float = FALLBACK) -> threading.Thread:  # fmt: skip
    thread = threading.Thread(target=loop, args=(store, stop, poll, fallback), name="notifier",
                              daemon=True)  # fmt: skip
    thread.start()
    return thread
