"""The durable event inbox: accepted events and the work derived from them, taken under leases.

A webhook handler ``put``s the event (committed before it answers 202); a
worker ``take``s the oldest item of the kinds it handles, which leases it to
that worker for ``lease`` seconds (``extend`` while it works), and ends it
with ``complete``, or ``expand``s it into derived items in the same
transaction. A worker that dies leaves its lease to run out (or, on this host,
``recover`` hands back at once the items of processes that are gone), and
another worker takes the item again: delivery is at least once, so handlers
are idempotent. ``dedupe`` keys are unique: a second ``put`` of the same key
(a replayed delivery id, an identical unit of work) is refused and reported
as a duplicate, without an error and without a second item.

Works the same on SQLite (the first write of a transaction takes the write
lock) and PostgreSQL (a conditional ``UPDATE`` decides which worker wins an
item). Touches only the store.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shipway.model.release import now
from shipway.store.db import Store
from shipway.store.inbox_tables import HookKeyRow, InboxRow

PENDING, LEASED, DONE, FAILED = "pending", "leased", "done", "failed"
HOST = socket.gethostname()


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    dedupe: str | None
    created: dt.datetime


@dataclass(frozen=True)
class New:
    """An item to insert: ``dedupe`` set means at most one item with that key, ever."""

    kind: str
    payload: dict[str, Any]
    dedupe: str | None = None


def owner_id() -> str:
    """A lease owner name for one worker of this process: ``host/pid/random``."""
    return f"{HOST}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _item(row: InboxRow) -> Item:
    return Item(row.id, row.kind, dict(row.payload), row.attempts, row.dedupe, _aware(row.created))


def _insert(s: Session, new: New, at: dt.datetime) -> int | None:
    """Insert one item; None when its dedupe key is taken."""
    values = {"kind": new.kind, "dedupe": new.dedupe, "payload": new.payload, "state": PENDING,
              "attempts": 0, "owner": "", "created": at, "error": ""}  # fmt: skip
    if new.dedupe is None:
        row = InboxRow(**values)
        s.add(row)
        s.flush()
        return row.id
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(InboxRow).values(**values).on_conflict_do_nothing(index_elements=["dedupe"])
    got = s.execute(stmt.returning(InboxRow.id)).scalar_one_or_none()
    return int(got) if got is not None else None


def put(store: Store, kind: str, payload: dict[str, Any], dedupe: str | None = None) -> int | None:
    """Store an accepted event; return its id, or None when ``dedupe`` was seen before."""
    with store.session() as s:
        return _insert(s, New(kind, payload, dedupe), now())


def put_many(store: Store, items: Sequence[New]) -> list[int | None]:
    """Store several items in one transaction (None for each duplicate)."""
    at = now()
    with store.session() as s:
        return [_insert(s, new, at) for new in items]


def take(store: Store, owner: str, kinds: Iterable[str], lease: float = 30.0) -> Item | None:
    """Lease the oldest pending (or lease-expired) item of ``kinds`` to ``owner``.

    One conditional ``UPDATE`` (writing first, so SQLite takes its write lock
    at once); on PostgreSQL a worker that lost the row to another finds no row
    updated and tries the next candidate.
    """
    wanted = list(kinds)
    for _ in range(5):
        at = now()
        free = or_(
            InboxRow.state == PENDING, (InboxRow.state == LEASED) & (InboxRow.lease_until < at)
        )
        candidate = (
            select(InboxRow.id)
            .where(InboxRow.kind.in_(wanted), free)
            .order_by(InboxRow.id)
            .limit(1)
            .scalar_subquery()
        )
        with store.session() as s:
            got = s.execute(
                update(InboxRow)
                .where(InboxRow.id == candidate, free)
                .values(
                    state=LEASED,
                    owner=owner,
                    attempts=InboxRow.attempts + 1,
                    lease_until=at + dt.timedelta(seconds=lease),
                )
                .returning(InboxRow.id)
            ).scalar_one_or_none()
            if got is not None:
                row = s.get(InboxRow, int(got))
                assert row is not None
                return _item(row)
            if (
                s.scalars(select(InboxRow.id).where(InboxRow.kind.in_(wanted), free)).first()
                is None
            ):
                return None
    return None


def extend(store: Store, item_id: int, owner: str, lease: float = 30.0) -> bool:
    """Renew ``owner``'s lease; False when the item is no longer its own."""
    with store.session() as s:
        got = s.execute(
            update(InboxRow)
            .where(InboxRow.id == item_id, InboxRow.owner == owner, InboxRow.state == LEASED)
            .values(lease_until=now() + dt.timedelta(seconds=lease))
        )
        return bool(got.rowcount)  # type: ignore[attr-defined]


def _finish(s: Session, item_id: int, owner: str, state: str, error: str) -> bool:
    got = s.execute(
        update(InboxRow)
        .where(InboxRow.id == item_id, InboxRow.owner == owner, InboxRow.state == LEASED)
        .values(state=state, finished=now(), error=error[:4000], lease_until=None)
    )
    return bool(got.rowcount)  # type: ignore[attr-defined]


def complete(store: Store, item_id: int, owner: str, error: str = "") -> bool:
    """End an item: ``done``, or ``failed`` with ``error`` (kept, not retried)."""
    with store.session() as s:
        return _finish(s, item_id, owner, FAILED if error else DONE, error)


def expand(store: Store, item_id: int, owner: str, items: Sequence[New]) -> list[int | None] | None:
    """Replace a leased item by the work it stands for, atomically.

    Returns the new ids (None for duplicates), or None when the lease was lost
    (another worker took the item meanwhile; nothing is written then).
    """
    at = now()
    with store.session() as s:
        if not _finish(s, item_id, owner, DONE, ""):
            return None
        return [_insert(s, new, at) for new in items]


def retry(store: Store, item_id: int, owner: str, after: float, error: str) -> None:
    """Hand a leased item back, to be taken again after ``after`` seconds."""
    with store.session() as s:
        s.execute(
            update(InboxRow)
            .where(InboxRow.id == item_id, InboxRow.owner == owner, InboxRow.state == LEASED)
            .values(lease_until=now() + dt.timedelta(seconds=after), error=error[:4000])
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(store: Store) -> int:
    """Hand back at once the leases of processes on this host that are gone; return how many."""
    with store.session() as s:
        rows = list(s.scalars(select(InboxRow).where(InboxRow.state == LEASED)))
        freed = 0
        for row in rows:
            host, _, rest = row.owner.partition("/")
            pid = rest.partition("/")[0]
            if host == HOST and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                row.state, row.lease_until = PENDING, None
                freed += 1
        return freed


def counts(store: Store, kinds: Iterable[str] | None = None) -> dict[str, int]:
    """How many items are in each state (of ``kinds``, or all)."""
    with store.session() as s:
        q = select(InboxRow.state, func.count()).group_by(InboxRow.state)
        if kinds is not None:
            q = q.where(InboxRow.kind.in_(list(kinds)))
        return {state: int(n) for state, n in s.execute(q)}


def items(store: Store, kind: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Items newest first, as plain data (for the API and tests)."""
    with store.session() as s:
        q = select(InboxRow).order_by(InboxRow.id.desc()).limit(limit)
        if kind is not None:
            q = q.where(InboxRow.kind == kind)
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "dedupe": r.dedupe,
                "state": r.state,
                "attempts": r.attempts,
                "error": r.error,
                "payload": r.payload,
            }
            for r in s.scalars(q)
        ]


def hook_key(store: Store, name: str) -> str:
    """The random key named ``name``, made on first use (all processes agree on one)."""
    with store.session() as s:
        found = s.get(HookKeyRow, name)
        if found is not None:
            return found.key
    with store.session() as s:
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(
            insert(HookKeyRow)
            .values(name=name, key=secrets.token_hex(32), created=now())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        row = s.get(HookKeyRow, name)
        assert row is not None
        return row.key


def rotate_hook_key(store: Store, name: str) -> None:
    """Replace the key: every token derived from the old one stops working."""
    with store.session() as s:
        row = s.get(HookKeyRow, name)
        if row is None:
            s.add(HookKeyRow(name=name, key=secrets.token_hex(32), created=now()))
        else:
            row.key, row.created = secrets.token_hex(32), now()
