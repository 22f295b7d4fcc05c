"""The controller's notifier loop: a notification pass soon after anything happens.

Every ``poll`` seconds it reads two cheap facts, the event stream's last
position (``events.last_seq``: a sync, a promotion, a CI run or a preview in
any process moves it) and the outbox's next due time (retries, held and
aggregated rows); when either calls for it, it runs ``worker.run_pass``. So
an event is delivered within about ``poll`` plus the pass itself, not at the
next periodic tick. Touches the store (through the notifier).
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


def loop(store: Store, stop: threading.Event, poll: float = POLL) -> None:
    seen = -1
    while not stop.wait(poll):
        try:
            seq = events.last_seq(store)
            due = outbox.next_due(store)
            now = dt.datetime.now(dt.UTC)
            if seq != seen or (due is not None and due <= now):
                seen = seq
                worker.run_pass(store, wait=WAIT)
        except Exception:
            log.exception("notification pass failed")


def start(store: Store, stop: threading.Event, poll: float = POLL) -> threading.Thread:
    thread = threading.Thread(target=loop, args=(store, stop, poll), name="notifier", daemon=True)
    thread.start()
    return thread
