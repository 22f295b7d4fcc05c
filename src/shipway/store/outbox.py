"""The notification outbox: enqueue once per dedupe key, lease due rows, record outcomes.

Durable: rows survive restarts, so a key once enqueued suppresses its repeats
for good (until ``rearm`` frees it). A worker takes a row under a lease
(``claim_due``); a worker that dies between sending and recording leaves the
lease to expire, and the row is sent again: at most one duplicate per crash
per row (at-least-once). Touches only the ``notify_outbox`` table.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from shipway.model.errors import ExternalError
from shipway.store.db import Store
from shipway.store.notify_tables import OutboxRow

_T: Table = OutboxRow.__table__  # type: ignore[assignment]
PENDING, SENT, FAILED, SUPPRESSED = "pending", "sent", "failed", "suppressed"
CURSOR = "cursor"  # a bookkeeping row (``cursor:<name>``): a reader's position, not a message


@dataclass(slots=True)
class Delivery:
    """One outbox row as the notifier sees it."""

    key: str
    cond: str
    app_namespace: str
    app_name: str
    trigger: str
    service: str
    recipient: str
    payload: dict[str, Any]
    group_key: str = ""
    state: str = PENDING
    attempts: int = 0
    last_error: str = ""
    external: dict[str, Any] = field(default_factory=dict)
    id: int = 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _to(r: Any) -> Delivery:
    return Delivery(r.key, r.cond, r.app_namespace, r.app_name, r.trigger, r.service,
                    r.recipient, dict(r.payload), r.group_key, r.state, r.attempts,
                    r.last_error, dict(r.external or {}), r.id)  # fmt: skip


def known_keys(store: Store, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are already in the outbox."""
    wanted = list(set(keys))
    found: set[str] = set()
    with store.session() as s:
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            found.update(s.scalars(select(OutboxRow.key).where(OutboxRow.key.in_(chunk))))
    return found


def enqueue(
    store: Store, d: Delivery, *, state: str = PENDING, at: dt.datetime | None = None
) -> bool:
    """Insert ``d`` (due at ``at``, default now) unless its key is there already; True when
    it was new."""
    now = _now()
    try:
        with store.session() as s:
            if s.scalar(select(OutboxRow.id).where(OutboxRow.key == d.key)) is not None:
                return False
            s.add(
                OutboxRow(
                    key=d.key, cond=d.cond, app_namespace=d.app_namespace, app_name=d.app_name,
                    trigger=d.trigger, service=d.service, recipient=d.recipient,
                    payload=d.payload, state=state, attempts=0, next_at=at or now,
                    group_key=d.group_key, external=dict(d.external), last_error=d.last_error,
                    created=now,
                )
            )  # fmt: skip
            s.flush()
    except ExternalError as exc:
        if isinstance(exc.__cause__, IntegrityError):  # another process enqueued it first
            return False
        raise
    return True


def enqueue_many(store: Store, rows: Sequence[tuple[Delivery, dt.datetime | None]]) -> int:
    """Insert many rows in one transaction (``(delivery, due at)``; None: now), skipping keys
    already there; returns how many were new."""
    if not rows:
        return 0
    try:
        with store.engine.begin() as conn:
            return _insert_many(conn, rows)
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="outbox") from exc


def _insert_many(conn: Connection, rows: Sequence[tuple[Delivery, dt.datetime | None]]) -> int:
    now = _now()
    values = [
        {"key": d.key, "cond": d.cond, "app_namespace": d.app_namespace, "app_name": d.app_name,
         "trigger": d.trigger, "service": d.service, "recipient": d.recipient,
         "payload": d.payload, "state": d.state, "attempts": 0, "next_at": at or now,
         "group_key": d.group_key, "external": dict(d.external), "last_error": d.last_error,
         "created": now}
        for d, at in rows
    ]  # fmt: skip
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = ins(OutboxRow).on_conflict_do_nothing(index_elements=["key"])
    n = 0
    for i in range(0, len(values), 500):
        res = conn.execute(stmt, values[i : i + 500])
        n += int(getattr(res, "rowcount", 0) or 0)
    return n


def rearm(store: Store, conds: Sequence[str]) -> int:
    """Free the keys of conditions that are false again, so they can fire anew."""
    if not conds:
        return 0
    with store.session() as s:
        rows = s.scalars(
            select(OutboxRow).where(OutboxRow.cond.in_(list(conds)), ~OutboxRow.key.contains("#"))
        ).all()
        for r in rows:
            r.key = f"{r.key}#{r.id}"
        return len(rows)


def claim_due(
    store: Store, *, lease: float = 60.0, limit: int = 50, exclude: Collection[int] = ()
) -> list[Delivery]:
    """Take pending rows whose time has come and whose lease (if any) expired, but the rows
    ``exclude`` names (this process's senders still have them queued).

    One conditional update for the batch: each claim writes a lease time of its own (the
    microseconds carry a random tag), and reads back the rows holding exactly that one, so
    two workers never take the same row."""
    now = _now()
    until = now + dt.timedelta(seconds=lease, microseconds=secrets.randbelow(1_000_000))
    due = (
        select(OutboxRow.id)
        .where(OutboxRow.state == PENDING, OutboxRow.next_at <= now)
        .where(or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until <= now))
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    if exclude:
        due = due.where(OutboxRow.id.not_in(list(exclude)))
    with store.session() as s:
        ids = list(s.scalars(due))
        if not ids:
            return []
        s.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(ids), OutboxRow.state == PENDING)
            .where(or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until <= now))
            .values(lease_until=until, attempts=OutboxRow.attempts + 1)
        )
    with store.session() as s:
        rows = s.scalars(
            select(OutboxRow)
            .where(OutboxRow.id.in_(ids), OutboxRow.lease_until == until)
            .order_by(OutboxRow.id)
        )
        return [_to(r) for r in rows]


def next_due(store: Store) -> dt.datetime | None:
    """When the next pending row is due (None when none is pending)."""
    with store.session() as s:
        at = s.scalar(select(func.min(OutboxRow.next_at)).where(OutboxRow.state == PENDING))
    return at.replace(tzinfo=dt.UTC) if at is not None and at.tzinfo is None else at


def mark_sent(store: Store, row_id: int, external: dict[str, Any]) -> None:
    """Record a row sent, with the service's answer (one statement: the senders' hot path)."""
    stmt = (
        update(_T)
        .where(_T.c.id == row_id)
        .values(state=SENT, external=external, sent_at=_now(), lease_until=None, last_error="")
    )
    try:
        with store.engine.begin() as conn:
            conn.execute(stmt)
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="outbox") from exc


def mark_retry(store: Store, row_id: int, error: str, delay: float) -> None:
    with store.session() as s:
        row = s.get(OutboxRow, row_id)
        if row is not None:
            row.last_error, row.lease_until = error, None
            row.next_at = _now() + dt.timedelta(seconds=delay)


def mark_failed(store: Store, row_id: int, error: str) -> None:
    with store.session() as s:
        row = s.get(OutboxRow, row_id)
        if row is not None:
            row.state, row.last_error, row.lease_until = FAILED, error, None


def previous_in_group(store: Store, service: str, recipient: str, group: str) -> dict[str, Any]:
    """The service's reference (e.g. Slack ``ts``) of the last sent row of this group."""
    if not group:
        return {}
    with store.session() as s:
        row = s.scalars(
            select(OutboxRow)
            .where(OutboxRow.service == service, OutboxRow.recipient == recipient)
            .where(OutboxRow.group_key == group, OutboxRow.state == SENT)
            .order_by(OutboxRow.sent_at.desc(), OutboxRow.id.desc())
        ).first()
        return dict(row.external or {}) if row is not None else {}


def list_outbox(store: Store, *, app_name: str | None = None) -> list[Delivery]:
    q = select(OutboxRow).where(OutboxRow.state != CURSOR).order_by(OutboxRow.id)
    if app_name is not None:
        q = q.where(OutboxRow.app_name == app_name)
    with store.session() as s:
        return [_to(r) for r in s.scalars(q)]


def counts(store: Store) -> dict[tuple[str, str], int]:
    """Rows by ``(service, state)``: what ``/metrics`` reports."""
    with store.session() as s:
        rows = s.execute(
            select(OutboxRow.service, OutboxRow.state, func.count())
            .where(OutboxRow.state != CURSOR)
            .group_by(OutboxRow.service, OutboxRow.state)
        )
        return {(str(svc), str(state)): int(n) for svc, state, n in rows}


# -- rate limits: hold, then one message for the held ones ("and 21 more") -----------------


def sent_since(store: Store, service: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    """How many rows of ``service`` were sent at or after ``since``, and the oldest's time."""
    with store.session() as s:
        n, oldest = s.execute(
            select(func.count(), func.min(OutboxRow.sent_at)).where(
                OutboxRow.service == service, OutboxRow.state == SENT, OutboxRow.sent_at >= since
            )
        ).one()
    return int(n or 0), (oldest.replace(tzinfo=dt.UTC) if oldest and not oldest.tzinfo else oldest)


def hold(store: Store, row_id: int, until: dt.datetime) -> None:
    """Keep a row for later (a rate limit): not an attempt, marked ``held``."""
    with store.session() as s:
        row = s.get(OutboxRow, row_id)
        if row is not None:
            row.lease_until, row.next_at = None, until
            row.attempts = max(0, row.attempts - 1)
            row.external = {**(row.external or {}), "held": True}


def held(store: Store, service: str, recipient: str, *, exclude: int) -> list[int]:
    """The ids of pending rows of (service, recipient) a rate limit holds, but ``exclude``."""
    with store.session() as s:
        rows = s.execute(
            select(OutboxRow.id, OutboxRow.external).where(
                OutboxRow.service == service, OutboxRow.recipient == recipient,
                OutboxRow.state == PENDING, OutboxRow.id != exclude,
            )
        ).all()  # fmt: skip
    return [int(i) for i, ext in rows if (ext or {}).get("held")]


def mark_suppressed(store: Store, ids: Sequence[int], note: str) -> int:
    """Rows summarised by another message: never sent, counted as suppressed."""
    if not ids:
        return 0
    with store.session() as s:
        res = s.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(list(ids)), OutboxRow.state == PENDING)
            .values(state=SUPPRESSED, last_error=note, lease_until=None)
        )
        return int(getattr(res, "rowcount", 0) or 0)


# -- aggregation: a pending group row takes the later events of its operation --------------


def open_groups(store: Store, prefix: str, now: dt.datetime) -> dict[str, Delivery]:
    """Every pending, unleased group row not due yet whose group starts with ``prefix``."""
    # by ``next_at`` alone (its index: the few rows not due yet), not by ``state`` (every
    # pending row, thousands in a burst); the state is checked here
    q = (
        select(_T)
        .where(_T.c.next_at > now, _T.c.group_key.startswith(prefix))
        .where(_T.c.lease_until.is_(None))
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return {r.group_key: _to(r) for r in rows
            if r.state == PENDING and (r.external or {}).get("aggregating")}  # fmt: skip


def fold_into(
    store: Store, d: Delivery, payload: dict[str, Any], event_keys: Sequence[str], *, due: bool
) -> bool:
    """Store the group row ``d`` with more events folded in (``payload``, their keys); due
    now when ``due``. False when a sender took it meanwhile."""
    with store.session() as s:
        res = s.execute(_fold(d, payload, event_keys, due=due))
        return int(getattr(res, "rowcount", 0) or 0) == 1


def _fold(d: Delivery, payload: dict[str, Any], event_keys: Sequence[str], *, due: bool) -> Any:
    seen = list((d.external or {}).get("events") or [])
    external = {**(d.external or {}), "events": [*seen, *[k for k in event_keys if k not in seen]]}
    values: dict[str, Any] = {"payload": payload, "external": external}
    if due:
        external["aggregating"] = False
        values["next_at"] = _now()
    return (
        update(_T)
        .where(_T.c.id == d.id, _T.c.state == PENDING)
        .where(_T.c.lease_until.is_(None))
        .values(**values)
    )


Fold = tuple[Delivery, dict[str, Any], Sequence[str], bool]
"""A group row, its payload with more events folded in, their keys, and whether it is due."""


def commit_route(
    store: Store, rows: Sequence[tuple[Delivery, dt.datetime | None]], folds: Sequence[Fold],
    cursor_name: str, seq: int,
) -> int:  # fmt: skip
    """A router's pass in one transaction: insert ``rows`` (keys already there skipped), fold
    into group rows (one a sender took meanwhile is left), and move the cursor to ``seq``;
    returns how many rows were new or folded into."""
    try:
        with store.engine.begin() as conn:
            n = _insert_many(conn, rows) if rows else 0
            for d, payload, keys, due in folds:
                n += int(getattr(conn.execute(_fold(d, payload, keys, due=due)), "rowcount", 0)
                         or 0)  # fmt: skip
            _set_cursor(conn, cursor_name, seq)
            return n
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="outbox") from exc


# -- a reader's position (the Flux router's last event), kept in the outbox ---------------


def cursor(store: Store, name: str) -> int | None:
    """A reader's last position (None before its first pass)."""
    with store.engine.connect() as conn:
        payload = conn.execute(select(_T.c.payload).where(_T.c.key == f"cursor:{name}")).first()
    return int((payload[0] or {}).get("seq", 0)) if payload is not None else None


def set_cursor(store: Store, name: str, seq: int) -> None:
    try:
        with store.engine.begin() as conn:
            _set_cursor(conn, name, seq)
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="outbox") from exc


def _set_cursor(conn: Connection, name: str, seq: int) -> None:
    key = f"cursor:{name}"
    res = conn.execute(update(_T).where(_T.c.key == key).values(payload={"seq": seq}))
    if int(getattr(res, "rowcount", 0) or 0) == 0:
        now = _now()
        conn.execute(insert(_T).values(key=key, cond="", app_namespace="", app_name="",
                                       trigger="", service=key, recipient="",
                                       payload={"seq": seq}, state=CURSOR, attempts=0,
                                       next_at=now, group_key="", external={},
                                       last_error="", created=now))  # fmt: skip
