"""Stored events: ``emit`` (with kubectl-style aggregation of repeats) and queries.

``emit`` is the one function every stage calls (CI, images, the updater, the
reconciler, and later Freight, promotions, verification, rollbacks and
previews). A repeat of a recent event (same stable fields, within
``AGGREGATE_WINDOW``) bumps that row's ``count``, ``time`` and ``seq``;
anything else is a new row. ``seq`` is ``max(seq) + 1`` under a unique index,
so a racing writer (another process) retries with the next one and the
positions are gapless in commit order: a reader that saw ``seq`` N has seen
every event written before N (what ``Last-Event-ID`` and an outbox rely on).
The writers of one process share transactions (group commit,
``shipway.store.event_writer``); ``emit`` returns once its event is committed.

Touches only the ``events`` and ``app_reconciles`` tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from shipway.model.errors import ExternalError
from shipway.model.events import NORMAL, Event, ObjectRef, utc
from shipway.store import event_sql, event_writer
from shipway.store.db import Store
from shipway.store.tables import EventRow, ReconcileRow

_to_event = event_writer.to_event


def emit(
    store: Store,
    involved: ObjectRef,
    reason: str,
    message: str = "",
    *,
    type: str = NORMAL,
    release_id: str = "",
    source: str = "shipway",
    at: dt.datetime | None = None,
    count: int = 1,
) -> Event:
    """Record one event (or count a repeat of a recent one); returns it as stored.

    ``count`` records that many occurrences at once (a batch of repeats). The
    event is committed when this returns; concurrent writers of this process
    share transactions (``shipway.store.event_writer``).
    """
    ev = Event(involved, reason, message, type, release_id or "", source,
               first=at or dt.datetime.now(dt.UTC))  # fmt: skip
    return event_writer.write(store, ev, count)


def query(
    store: Store,
    *,
    namespace: str | None = None,
    kind: str | None = None,
    name: str | None = None,
    types: Sequence[str] = (),
    release_id: str | None = None,
    after: int = 0,
    upto: int | None = None,
    limit: int | None = None,
    newest: bool = False,
) -> list[Event]:
    """Events after ``after`` in stream order (``seq``); ``newest``: the last ``limit``."""
    filters = (namespace, kind, name, release_id, upto)
    if limit is not None and not newest and not types and filters == (None,) * 5:
        return _after(store, after, limit)  # the routers' read: on the DBAPI cursor
    t = EventRow.__table__.c
    q = select(EventRow.__table__).where(t.seq > after)
    if upto is not None:
        q = q.where(t.seq <= upto)
    if namespace is not None:
        q = q.where(t.namespace == namespace)
    if kind:
        q = q.where(func.lower(t.kind) == kind.lower())
    if name:
        q = q.where(t.name == name)
    if types:
        q = q.where(t.type.in_(list(types)))
    if release_id:
        q = q.where(t.release_id == release_id)
    q = q.order_by(t.seq.desc() if newest else t.seq)
    if limit is not None:
        q = q.limit(limit)
    try:  # Core rows: the ORM's identity map and instances cost more than the reading
        with store.engine.connect() as conn:
            found = [_to_event(r) for r in conn.execute(q)]
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="store") from exc
    return list(reversed(found)) if newest else found


def _after(store: Store, after: int, limit: int) -> list[Event]:
    try:
        with store.engine.connect() as conn:
            p = event_sql.plan(conn.dialect)
            cur = conn.connection.cursor()
            try:
                rows = event_sql.after(cur, p, after, limit)
            finally:
                cur.close()
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="store") from exc
    return [_to_event(event_writer.Row(r)) for r in rows]


def last_seq(store: Store) -> int:
    """The newest stream position (0 for none): a cheap poll for watchers."""
    with store.session() as s:
        return int(s.scalar(select(func.coalesce(func.max(EventRow.seq), 0))) or 0)


def seq_before(store: Store, at: dt.datetime) -> int:
    """The stream position just before the first event last seen at or after ``at`` (a new
    reader's starting point: what happened before it was configured is not its business)."""
    with store.session() as s:
        first = s.scalar(select(func.min(EventRow.seq)).where(EventRow.time >= utc(at)))
        if first is None:
            return int(s.scalar(select(func.coalesce(func.max(EventRow.seq), 0))) or 0)
        return int(first) - 1


def totals(store: Store, reasons: Iterable[str]) -> dict[tuple[str, str, str], int]:
    """Occurrences (``count`` summed) by (reason, type, kind) for the given reasons."""
    q = (
        select(EventRow.reason, EventRow.type, EventRow.kind, func.sum(EventRow.count))
        .where(EventRow.reason.in_(list(reasons)))
        .group_by(EventRow.reason, EventRow.type, EventRow.kind)
    )
    with store.session() as s:
        return {(r, t, k): int(n or 0) for r, t, k, n in s.execute(q)}


def by_object(store: Store, kind: str, reasons: Iterable[str]) -> dict[tuple[str, str, str], int]:
    """Occurrences by (namespace, name, reason) of one kind's events with these reasons."""
    q = (
        select(EventRow.namespace, EventRow.name, EventRow.reason, func.sum(EventRow.count))
        .where(EventRow.kind == kind, EventRow.reason.in_(list(reasons)))
        .group_by(EventRow.namespace, EventRow.name, EventRow.reason)
    )
    with store.session() as s:
        return {(ns, n, r): int(c or 0) for ns, n, r, c in s.execute(q)}


def since(store: Store, at: dt.datetime) -> list[Event]:
    """Events last seen at or after ``at`` (for reports over a period)."""
    with store.session() as s:
        rows = s.scalars(select(EventRow).where(EventRow.time >= utc(at)).order_by(EventRow.seq))
        return [_to_event(r) for r in rows]


def by_message(store: Store, kind: str, reason: str) -> dict[tuple[str, str], int]:
    """Occurrences by (name, message) of one kind's events with one reason (webhook outcomes)."""
    q = (
        select(EventRow.name, EventRow.message, func.sum(EventRow.count))
        .where(EventRow.kind == kind, EventRow.reason == reason)
        .group_by(EventRow.name, EventRow.message)
    )
    with store.session() as s:
        return {(n, m): int(c or 0) for n, m, c in s.execute(q)}


def record_reconcile(
    store: Store, namespace: str, name: str, phase: str, seconds: float | None
) -> None:
    """One finished sync of an Application (``argocd_app_sync_total``, ``_reconcile``)."""
    with store.session() as s:
        s.add(ReconcileRow(time=dt.datetime.now(dt.UTC), namespace=namespace, name=name,
                           phase=phase, seconds=seconds))  # fmt: skip


def reconciles(store: Store) -> list[tuple[str, str, str, float | None]]:
    """Every recorded sync as (namespace, name, phase, seconds)."""
    with store.session() as s:
        rows = s.execute(select(ReconcileRow.namespace, ReconcileRow.name, ReconcileRow.phase,
                                ReconcileRow.seconds))  # fmt: skip
        return [(ns, n, p, sec) for ns, n, p, sec in rows]
