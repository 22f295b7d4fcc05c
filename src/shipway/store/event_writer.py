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

import dataclasses as dc
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from shipway.model.errors import ConflictError, ExternalError
from shipway.model.events import Event, ObjectRef, repeats
from shipway.store.db import Store
from shipway.store.tables import EventRow

MAX_BATCH = 256
"""Events written in one transaction at most."""
_RETRIES = 20


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


def to_event(r: Any) -> Event:
    """The stored row (an ``EventRow``, or a Core row of its table) as an ``Event``."""
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
    batch: list[Pending] = []
    try:
        while me.stored is None and me.error is None:
            time.sleep(0)  # let the writers just told theirs queue their next: a fuller batch
            with q.lock:
                batch = [q.waiting.popleft() for _ in range(min(MAX_BATCH, len(q.waiting)))]
            _write_batch(store, batch)
            for p in batch:
                if p is not me:
                    p.done.set()
            batch = []
    finally:
        for p in batch:  # the leader interrupted (KeyboardInterrupt) amid a batch
            if p is not me:
                if p.stored is None and p.error is None:
                    p.error = ExternalError(
                        "the writer of this event's batch was interrupted; it may not be stored",
                        subject=p.event.involved.ref,
                    )
                p.done.set()
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
    except Exception as exc:
        if len(batch) == 1:
            batch[0].error = exc
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
            with store.write_lock():  # SQLite: this process's writers take turns
                return _transaction(store, batch)
        except ExternalError as exc:  # the seq taken by another process, or its lock: again
            if not isinstance(exc.__cause__, IntegrityError | OperationalError):
                raise
            time.sleep(0.005 * (attempt + 1))
    first = batch[0].event
    raise ConflictError(
        f"event {first.reason}: the event stream stayed busy", subject=first.involved.ref
    )


_T: Table = EventRow.__table__  # type: ignore[assignment]
_MAX_SEQ = select(func.coalesce(func.max(_T.c.seq), 0))
_NEWEST = select(_T).where(
    _T.c.id.in_(
        select(func.max(_T.c.id))
        .where(_T.c.key.in_(bindparam("keys", expanding=True)))
        .group_by(_T.c.key)
    )
)
_INSERT = insert(_T).returning(_T.c.id, sort_by_parameter_order=True)
_BUMP = (
    update(_T)
    .where(_T.c.id == bindparam("row_id"))
    .values(count=bindparam("new_count"), time=bindparam("new_time"), seq=bindparam("new_seq"))
)


def _transaction(store: Store, batch: list[Pending]) -> list[Event]:
    """Core statements built once, on a plain connection (an ORM session and its unit of
    work cost more than the writes)."""
    try:
        with store.engine.begin() as conn:
            return _statements(conn, batch)
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="store") from exc


def _statements(conn: Connection, batch: list[Pending]) -> list[Event]:
    seq = int(conn.execute(_MAX_SEQ).scalar() or 0)
    keys = sorted({p.event.key for p in batch})
    newest: dict[str, dict[str, Any]] = {}
    for r in conn.execute(_NEWEST, {"keys": keys}):
        newest[r.key] = {"id": r.id, "event": to_event(r), "new": False}
    out: list[Event] = []
    for p in batch:
        ev, key, seq = p.event, p.event.key, seq + 1
        hit = newest.get(key)
        if hit is not None and repeats(hit["event"], ev):
            prev: Event = hit["event"]
            stored = dc.replace(prev, last=ev.first, count=prev.count + p.count, seq=seq)
            hit["event"], hit["dirty"] = stored, True
        else:
            stored = dc.replace(ev, last=ev.first, count=p.count, seq=seq)
            hit = newest[key] = {"id": 0, "event": stored, "new": True}
        hit.setdefault("mine", []).append(len(out))
        out.append(stored)
    inserts = [h for h in newest.values() if h["new"]]
    if inserts:
        ids = conn.execute(_INSERT, [_values(h["event"]) for h in inserts]).scalars().all()
        for h, rid in zip(inserts, ids, strict=True):
            h["id"] = rid
    bumps = [h for h in newest.values() if not h["new"] and h.get("dirty")]
    if bumps:
        conn.execute(_BUMP, [{"row_id": h["id"], "new_count": h["event"].count,
                              "new_time": h["event"].last, "new_seq": h["event"].seq}
                             for h in bumps])  # fmt: skip
    for h in newest.values():
        for i in h.get("mine", ()):
            out[i].id = h["id"]
    return out


def _values(ev: Event) -> dict[str, Any]:
    inv = ev.involved
    return {"time": ev.last, "first_time": ev.first, "source": ev.source, "reason": ev.reason,
            "message": ev.message, "subject": inv.ref, "seq": ev.seq, "key": ev.key,
            "type": ev.type, "api_version": inv.api_version, "kind": inv.kind,
            "namespace": inv.namespace, "name": inv.name, "uid": inv.uid,
            "release_id": ev.release_id, "count": ev.count}  # fmt: skip
