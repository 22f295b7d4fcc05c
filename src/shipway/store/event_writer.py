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

The statements run on the transaction's DBAPI cursor (``shipway.store.event_sql``:
SQL built once per dialect, values converted by the columns' own types), which
halves the writer's CPU per batch against SQLAlchemy's execution layer.

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

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from shipway.model.errors import ConflictError, ExternalError
from shipway.model.events import AGGREGATE_WINDOW, Event, ObjectRef
from shipway.store import event_sql
from shipway.store.db import Store

MAX_BATCH = 256
"""Events written in one transaction at most."""
_RETRIES = 20


@dataclass(eq=False)
class Pending:
    """One queued event and, once its batch committed, the event as stored (or the error)."""

    event: Event
    count: int
    key: str = ""  # the aggregation key, hashed by the writer's own thread, not the leader
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
    me = Pending(event, count, event.key)
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


def _transaction(store: Store, batch: list[Pending]) -> list[Event]:
    """The batch's statements on the DBAPI cursor of one transaction; a driver's error is
    raised as SQLAlchemy's (``IntegrityError``, ``OperationalError``: the retry tells them)."""
    dbapi_error: type[Exception] = store.engine.dialect.loaded_dbapi.Error
    try:
        with store.engine.begin() as conn:
            return _statements(conn, batch)
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="store") from exc
    except dbapi_error as exc:
        wrapped = DBAPIError.instance(None, None, exc, dbapi_error)
        raise ExternalError(f"database error: {wrapped}", subject="store") from wrapped


def _statements(conn: Connection, batch: list[Pending]) -> list[Event]:
    p = event_sql.plan(conn.dialect)
    cur = conn.connection.cursor()
    try:
        return _on_cursor(cur, p, batch)
    finally:
        cur.close()


def _on_cursor(cur: Any, p: event_sql.Plan, batch: list[Pending]) -> list[Event]:
    seq = event_sql.max_seq(cur, p)
    newest: dict[str, dict[str, Any]] = {}
    for r in event_sql.newest(cur, p, sorted({p_.key for p_ in batch})):
        newest[r["key"]] = {"id": r["id"], "event": to_event(Row(r)), "new": False}
    out: list[Event] = []
    for pend in batch:
        ev, key, seq = pend.event, pend.key, seq + 1
        hit = newest.get(key)
        prev: Event | None = hit["event"] if hit is not None else None
        if hit is not None and prev is not None and _repeats(prev, ev):
            stored = dc.replace(prev, last=ev.first, count=prev.count + pend.count, seq=seq)
            hit["event"], hit["dirty"] = stored, True
        else:
            stored = dc.replace(ev, last=ev.first, count=pend.count, seq=seq)
            hit = newest[key] = {"id": 0, "event": stored, "new": True, "key": key}
        hit.setdefault("mine", []).append(len(out))
        out.append(stored)
    inserts = [h for h in newest.values() if h["new"]]
    ids = event_sql.insert(cur, p, [_values(h["event"], h["key"]) for h in inserts])
    for h in inserts:
        h["id"] = ids[h["event"].seq]
    bumps = [h for h in newest.values() if not h["new"] and h.get("dirty")]
    event_sql.bump(cur, p, [(h["event"].count, h["event"].last, h["event"].seq, h["id"])
                            for h in bumps])  # fmt: skip
    for h in newest.values():
        for i in h.get("mine", ()):
            out[i].id = h["id"]
    return out


class Row:
    """A ``{column: value}`` read by ``event_sql`` with the attribute access ``to_event`` uses."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _repeats(prev: Event, new: Event) -> bool:
    """``events.repeats`` for two events of one key (the key compared by the lookup)."""
    return prev.last is not None and new.first - prev.last <= AGGREGATE_WINDOW


def _values(ev: Event, key: str) -> tuple[Any, ...]:
    """The row of ``ev`` (aggregation key ``key``) in ``event_sql.COLUMNS`` order."""
    inv = ev.involved
    return (ev.last, ev.first, ev.source, ev.reason, ev.message, inv.ref, ev.seq, key,
            ev.type, inv.api_version, inv.kind, inv.namespace, inv.name, inv.uid,
            ev.release_id, ev.count)  # fmt: skip
