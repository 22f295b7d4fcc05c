"""Group commit of events: the writers of one process share transactions.

Every ``events.emit`` queues its event on its store's queue and waits. The
first writer to find no transaction under way becomes the leader: it takes up
to ``MAX_BATCH`` queued events (its own first), writes them in one
transaction in queue order, commits, and only then tells each writer its
event as stored. If more events queued meanwhile, it hands the lead to the
oldest of their writers and returns; that writer does the same. So a writer
returns once its event is durable (committed), never before, and never waits
behind more than one batch ahead of its own; the queue holds at most one event
per waiting thread, so it is bounded by them.

Positions (``seq``) are taken as before, ``max(seq) + 1`` under the unique
index, one after another within the batch: the order of the stream is the
order of the queue, gapless in commit order. A batch that collides with
another process (the unique index, or SQLite's lock) is written again whole
with fresh positions. A batch that fails otherwise is written again one event
a transaction, so one bad event fails only its own writer.

Repeats aggregate as before, also within a batch (the second of two equal
events in one batch counts on the first's row).

Touches only the ``events`` table.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from shipway.model.errors import ConflictError, ExternalError
from shipway.model.events import Event, ObjectRef, repeats
from shipway.store.db import Store
from shipway.store.tables import EventRow

MAX_BATCH = 256
"""Events written in one transaction at most."""
_RETRIES = 20
_SQLITE_WRITERS = threading.Lock()  # SQLite has one writer at a time: this process's take turns


@dataclass(eq=False)
class Pending:
    """One queued event and, once its batch committed, the event as stored (or the error)."""

    event: Event
    count: int
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # handed the lead: write the queue's next batch
    stored: Event | None = None
    error: BaseException | None = None


class _Queue:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: deque[Pending] = deque()
        self.leading = False


_queues: weakref.WeakKeyDictionary[Store, _Queue] = weakref.WeakKeyDictionary()
_queues_lock = threading.Lock()


def to_event(r: EventRow) -> Event:
    """The stored row as an ``Event``."""
    involved = ObjectRef(r.kind, r.name, r.namespace, r.api_version, r.uid)
    return Event(involved, r.reason, r.message, r.type, r.release_id, r.source,
                 first=r.first_time or r.time, last=r.time, count=r.count, seq=r.seq or r.id,
                 id=r.id)  # fmt: skip


def _queue(store: Store) -> _Queue:
    with _queues_lock:
        q = _queues.get(store)
        if q is None:
            q = _queues[store] = _Queue()
        return q


def write(store: Store, event: Event, count: int = 1) -> Event:
    """Queue ``event`` (``count`` occurrences) and return it as stored, once committed."""
    me = Pending(event, count)
    q = _queue(store)
    with q.lock:
        q.waiting.append(me)
        lead = not q.leading
        q.leading = True
    if not lead:
        me.done.wait()
        if me.lead:
            lead, me.done = True, threading.Event()
    if lead:
        _lead(store, q, me)
    if me.error is not None:
        raise me.error
    assert me.stored is not None
    return me.stored


def _lead(store: Store, q: _Queue, me: Pending) -> None:
    """Write batches until ``me``'s is written, then hand the lead on (or give it up)."""
    try:
        while me.stored is None and me.error is None:
            with q.lock:
                batch = [q.waiting.popleft() for _ in range(min(MAX_BATCH, len(q.waiting)))]
            _write_batch(store, batch)
            for p in batch:
                if p is not me:
                    p.done.set()
    finally:
        with q.lock:
            if q.waiting:
                nxt = q.waiting[0]
                nxt.lead = True
                nxt.done.set()
            else:
                q.leading = False


def _write_batch(store: Store, batch: list[Pending]) -> None:
    try:
        stored = _commit(store, batch)
    except BaseException as exc:
        if len(batch) == 1 or not isinstance(exc, Exception):
            for p in batch:
                p.error = exc
            return
        for p in batch:  # one bad event fails only its own writer
            _write_batch(store, [p])
        return
    for p, ev in zip(batch, stored, strict=True):
        p.stored = ev


def _commit(store: Store, batch: list[Pending]) -> list[Event]:
    """One transaction for the batch (again, whole, when another writer took its positions)."""
    for attempt in range(_RETRIES):
        try:
            if store.engine.dialect.name == "sqlite":
                with _SQLITE_WRITERS:
                    return _transaction(store, batch)
            return _transaction(store, batch)
        except ExternalError as exc:  # the seq taken by another process, or its lock: again
            if not isinstance(exc.__cause__, IntegrityError | OperationalError):
                raise
            time.sleep(0.005 * (attempt + 1))
    first = batch[0].event
    raise ConflictError(
        f"event {first.reason}: the event stream stayed busy", subject=first.involved.ref
    )


def _transaction(store: Store, batch: list[Pending]) -> list[Event]:
    with store.session() as s:
        seq = int(s.scalar(select(func.coalesce(func.max(EventRow.seq), 0))) or 0)
        keys = sorted({p.event.key for p in batch})
        last_ids = select(func.max(EventRow.id)).where(EventRow.key.in_(keys))
        newest = {
            row.key: row
            for row in s.scalars(
                select(EventRow).where(EventRow.id.in_(last_ids.group_by(EventRow.key)))
            )
        }
        taken: list[tuple[EventRow, int, dt.datetime, int]] = []
        for p in batch:
            ev, key, seq = p.event, p.event.key, seq + 1
            row = newest.get(key)
            if row is not None and repeats(to_event(row), ev):
                row.count, row.time, row.seq = row.count + p.count, ev.first, seq
            else:
                inv = ev.involved
                row = EventRow(
                    time=ev.first, first_time=ev.first, source=ev.source, reason=ev.reason,
                    message=ev.message, subject=inv.ref, seq=seq, key=key, type=ev.type,
                    api_version=inv.api_version, kind=inv.kind, namespace=inv.namespace,
                    name=inv.name, uid=inv.uid, release_id=ev.release_id, count=p.count,
                )  # fmt: skip
                s.add(row)
                newest[key] = row
            taken.append((row, row.count, row.time, row.seq))  # as this writer left it
        s.flush()  # every position is new (above the max): no order among the rows matters
        out = []
        for row, count, last, at in taken:
            ev = to_event(row)
            ev.count, ev.last, ev.seq = count, last, at
            out.append(ev)
        return out
