"""The event stream's batch write: what the group commit (``store.group_commit``) runs for events.

Every ``events.emit`` queues its event on its store's event writer (a
``GroupWriter``, ``call``: the caller waits) and returns it as stored once the
batch that holds it committed. Batches are written one at a time, up to
``MAX_BATCH`` events, in queue order; the queue holds at most one event per
waiting thread, so it is bounded by them.

Positions (``seq``) are taken as before, ``max(seq) + 1`` under the unique
index, one after another within the batch: the order of the stream is the
order of the queue, gapless in commit order. A batch that collides with
another process (the unique index, or SQLite's lock) is written again whole
with fresh positions (``retry_on``); a batch that fails otherwise is written
again one event a transaction, so one bad event fails only its own writer.

Repeats aggregate as before, also within a batch (the second of two equal
events in one batch counts on the first's row).

The statements run on the transaction's DBAPI cursor (``shipway.store.event_sql``:
SQL built once per dialect, values converted by the columns' own types), which
halves the writer's CPU per batch against SQLAlchemy's execution layer.

Touches only the ``events`` table.
"""

from __future__ import annotations

import dataclasses as dc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from shipway.model.errors import ConflictError, ExternalError
from shipway.model.events import AGGREGATE_WINDOW, Event, ObjectRef
from shipway.store import event_sql
from shipway.store.db import Store
from shipway.store.group_commit import GroupWriter, per_store

MAX_BATCH = 256
"""Events written in one transaction at most."""
_RETRIES = 20


@dataclass(frozen=True, slots=True)
class Queued:
    """One event to write, ``count`` occurrences."""

    event: Event
    count: int
    key: str  # the aggregation key, hashed by the writer's own thread, not the leader


def to_event(r: Any) -> Event:
    """The stored row (an ``EventRow``, or a Core row of its table) as an ``Event``."""
    involved = ObjectRef(r.kind, r.name, r.namespace, r.api_version, r.uid)
    return Event(involved, r.reason, r.message, r.type, r.release_id, r.source,
                 first=r.first_time or r.time, last=r.time, count=r.count, seq=r.seq or r.id,
                 id=r.id)  # fmt: skip


def _busy(batch: Sequence[Queued], _err: ExternalError) -> ConflictError:
    first = batch[0].event
    return ConflictError(
        f"event {first.reason}: the event stream stayed busy", subject=first.involved.ref
    )


def _make(store: Store) -> GroupWriter[Queued, Event]:
    return GroupWriter(store, _statements, "events", MAX_BATCH, subject="store",
                       retry_on=(IntegrityError, OperationalError), retries=_RETRIES,
                       busy=_busy)  # fmt: skip


writer = per_store(_make)
"""The store's event writer (one a store)."""


def write(store: Store, event: Event, count: int = 1) -> Event:
    """Queue ``event`` (``count`` occurrences) and return it as stored, once committed."""
    return writer(store).call(Queued(event, count, event.key))


def _statements(conn: Connection, batch: Sequence[Queued]) -> list[Event]:
    p = event_sql.plan(conn.dialect)
    cur = conn.connection.cursor()
    try:
        return _on_cursor(cur, p, batch)
    finally:
        cur.close()


def _on_cursor(cur: Any, p: event_sql.Plan, batch: Sequence[Queued]) -> list[Event]:
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
