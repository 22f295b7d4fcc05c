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

Accepted events are written in groups (``store.group_commit``): ``put``
queues its item on the store's inbox writer and returns once the batch that
holds it committed (when nothing else is being written, or when handed the
lead, it writes the batch on its own thread: no hand-off); ``put_future`` hands
back the future itself, for an async handler that must not hold a thread while
it waits (the writer's thread writes those). Other writes (take,
complete, expand...) are their own transactions, under the store's
in-process write lock on SQLite.

Works the same on SQLite (the first write of a transaction takes the write
lock) and PostgreSQL (a conditional ``UPDATE`` decides which worker wins an
item). Touches only the store.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from shipway.model.errors import ExternalError
from shipway.model.release import now
from shipway.store.db import Store
from shipway.store.group_commit import GroupWriter, per_store
from shipway.store.inbox_tables import HookKeyRow, InboxRow
from shipway.store.recorded import HOST, aware, pid_alive

PENDING, LEASED, DONE, FAILED = "pending", "leased", "done", "failed"


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


_T: Any = InboxRow.__table__  # Core statements: no ORM bookkeeping on the hot path
_C = _T.c


def owner_id() -> str:
    """A lease owner name for one worker of this process: ``host/pid/random``."""
    return f"{HOST}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _item(row: InboxRow) -> Item:
    return Item(row.id, row.kind, dict(row.payload), row.attempts, row.dedupe, aware(row.created))


@contextmanager
def _conn(store: Store, *, write: bool = True) -> Iterator[Connection]:
    """A Core connection in a transaction: the hot path (accept, take) skips the ORM session.

    ``write``: the transaction writes, so it is taken under the store's write lock."""
    try:
        with store.write_lock() if write else nullcontext(), store.engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise ExternalError(f"database error: {exc}", subject="inbox") from exc


_SEEN = select(_C.id).where(_C.dedupe == bindparam("dedupe")).limit(1)


_COLUMNS = ("kind", "dedupe", "payload", "state", "attempts", "owner", "created", "error")
_INSERTS: dict[tuple[str, bool, bool], Any] = {}


def _insert_stmt(dialect: str, dedupe: bool, many: bool = False) -> Any:
    """The insert statement, built once per dialect (its cache key is then computed once).

    ``many``: for several rows at once (one statement: ``insertmanyvalues``), returning
    the dedupe key beside the id of each row inserted."""
    stmt = _INSERTS.get((dialect, dedupe, many))
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(_T).values({c: bindparam(c) for c in _COLUMNS})
        if dedupe:
            stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe"])
        if many and dedupe:
            stmt = stmt.returning(_C.id, _C.dedupe)
        elif many:
            stmt = stmt.returning(_C.id, sort_by_parameter_order=True)
        else:
            stmt = stmt.returning(_C.id)
        _INSERTS[(dialect, dedupe, many)] = stmt
    return stmt


def _values(new: New, at: dt.datetime) -> dict[str, Any]:
    return {"kind": new.kind, "dedupe": new.dedupe, "payload": new.payload, "state": PENDING,
            "attempts": 0, "owner": "", "created": at, "error": ""}  # fmt: skip


def _insert(conn: Connection, new: New, at: dt.datetime) -> int | None:
    """Insert one item; None when its dedupe key is taken."""
    stmt = _insert_stmt(conn.dialect.name, new.dedupe is not None)
    got = conn.execute(stmt, _values(new, at)).scalar_one_or_none()
    return int(got) if got is not None else None


def _insert_batch(conn: Connection, items: Sequence[New]) -> list[int | None]:
    """Insert items in one statement per kind of row (keyed, unkeyed); None for each
    duplicate: a key stored before, or given twice in ``items`` (the first one wins)."""
    at = now()
    if len(items) == 1:
        return [_insert(conn, items[0], at)]
    out: list[int | None] = [None] * len(items)
    first: dict[str, int] = {}  # dedupe key -> the index of its first item
    plain: list[int] = []
    for n, new in enumerate(items):
        if new.dedupe is None:
            plain.append(n)
        else:
            first.setdefault(new.dedupe, n)
    dialect = conn.dialect.name
    if first:
        rows = [_values(items[n], at) for n in first.values()]
        for rid, key in conn.execute(_insert_stmt(dialect, True, many=True), rows):
            out[first[key]] = int(rid)
    if plain:
        rows = [_values(items[n], at) for n in plain]
        ids = conn.execute(_insert_stmt(dialect, False, many=True), rows).scalars().all()
        for n, rid in zip(plain, ids, strict=True):
            out[n] = int(rid)
    return out


_writer = per_store(lambda store: GroupWriter(store, _insert_batch, "inbox"))
"""The store's inbox writer: ``put``'s group commit."""


def put_future(
    store: Store, kind: str, payload: dict[str, Any], dedupe: str | None = None
) -> Future[int | None]:
    """Queue an accepted event; the future gives its id once committed (None: seen before)."""
    return _writer(store).submit(New(kind, payload, dedupe))


def put(store: Store, kind: str, payload: dict[str, Any], dedupe: str | None = None) -> int | None:
    """Store an accepted event; return its id, or None when ``dedupe`` was seen before."""
    return _writer(store).call(New(kind, payload, dedupe))


def seen(store: Store, dedupe: str) -> bool:
    """Whether an item with this dedupe key was ever stored."""
    with _conn(store, write=False) as conn:
        return conn.execute(_SEEN, {"dedupe": dedupe}).first() is not None


_SEEN_MANY = select(_C.dedupe).where(_C.dedupe.in_(bindparam("keys", expanding=True)))


def _seen_batch(conn: Connection, keys: Sequence[str]) -> list[bool]:
    found = set(conn.execute(_SEEN_MANY, {"keys": sorted(set(keys))}).scalars())
    return [k in found for k in keys]


_reader = per_store(lambda store: GroupWriter(store, _seen_batch, "inbox-seen", writes=False))


def seen_future(store: Store, dedupe: str) -> Future[bool]:
    """``seen``, for an async caller: the look-ups that came meanwhile share one query."""
    return _reader(store).submit(dedupe)


def put_many(store: Store, items: Sequence[New]) -> list[int | None]:
    """Store several items in one transaction (None for each duplicate, also a key given
    twice in ``items``)."""
    with _conn(store) as conn:
        return _insert_batch(conn, items)


def _row_item(row: Any) -> Item:
    return Item(row.id, row.kind, dict(row.payload), row.attempts, row.dedupe, aware(row.created))


_takes = 0


def take(store: Store, owner: str, kinds: Iterable[str], lease: float = 30.0) -> Item | None:
    """Lease the oldest pending (or lease-expired) item of ``kinds`` to ``owner``.

    One conditional ``UPDATE`` per candidate (writing first, so SQLite takes its
    write lock at once); on PostgreSQL a worker that lost the row to another
    finds no row updated and tries again. Pending items are found through the
    ``(state, kind, id)`` index; expired leases are looked at when nothing is
    pending, and first on every eighth call (so a busy inbox cannot starve them).
    """
    wanted = list(kinds)
    global _takes
    _takes += 1
    for _ in range(5):
        at = now()
        expired = (_C.state == LEASED) & (_C.lease_until < at)
        order = (
            [expired, _C.state == PENDING] if _takes % 8 == 0 else [_C.state == PENDING, expired]
        )
        with _conn(store) as conn:
            for cond in order:
                candidate = (
                    select(_C.id)
                    .where(cond, _C.kind.in_(wanted))
                    .order_by(_C.id)
                    .limit(1)
                    .scalar_subquery()
                )
                got = conn.execute(
                    update(_T)
                    .where(_C.id == candidate, or_(_C.state == PENDING, expired))
                    .values(
                        state=LEASED,
                        owner=owner,
                        attempts=_C.attempts + 1,
                        lease_until=at + dt.timedelta(seconds=lease),
                    )
                    .returning(_C.id, _C.kind, _C.payload, _C.attempts, _C.dedupe, _C.created)
                ).first()
                if got is not None:
                    return _row_item(got)
            waiting = select(_C.id).where(or_(_C.state == PENDING, expired), _C.kind.in_(wanted))
            if conn.execute(waiting.limit(1)).first() is None:
                return None
    return None


def extend(store: Store, item_id: int, owner: str, lease: float = 30.0) -> bool:
    """Renew ``owner``'s lease; False when the item is no longer its own."""
    with _conn(store) as conn:
        got = conn.execute(
            update(_T)
            .where(_C.id == item_id, _C.owner == owner, _C.state == LEASED)
            .values(lease_until=now() + dt.timedelta(seconds=lease))
        )
        return bool(got.rowcount)


def _finish(conn: Connection, item_id: int, owner: str, state: str, error: str) -> bool:
    got = conn.execute(
        update(_T)
        .where(_C.id == item_id, _C.owner == owner, _C.state == LEASED)
        .values(state=state, finished=now(), error=error[:4000], lease_until=None)
    )
    return bool(got.rowcount)


def complete(store: Store, item_id: int, owner: str, error: str = "") -> bool:
    """End an item: ``done``, or ``failed`` with ``error`` (kept, not retried)."""
    with _conn(store) as conn:
        return _finish(conn, item_id, owner, FAILED if error else DONE, error)


def expand(store: Store, item_id: int, owner: str, items: Sequence[New]) -> list[int | None] | None:
    """Replace a leased item by the work it stands for, atomically.

    Returns the new ids (None for duplicates), or None when the lease was lost
    (another worker took the item meanwhile; nothing is written then).
    """
    with _conn(store) as conn:
        if not _finish(conn, item_id, owner, DONE, ""):
            return None
        return _insert_batch(conn, items)


def retry(store: Store, item_id: int, owner: str, after: float, error: str) -> None:
    """Hand a leased item back, to be taken again after ``after`` seconds."""
    with store.session() as s:
        s.execute(
            update(InboxRow)
            .where(InboxRow.id == item_id, InboxRow.owner == owner, InboxRow.state == LEASED)
            .values(lease_until=now() + dt.timedelta(seconds=after), error=error[:4000])
        )


def recover(store: Store) -> int:
    """Hand back at once the leases of processes on this host that are gone; return how many."""
    with store.session() as s:
        rows = list(s.scalars(select(InboxRow).where(InboxRow.state == LEASED)))
        freed = 0
        for row in rows:
            host, _, rest = row.owner.partition("/")
            pid = rest.partition("/")[0]
            if (
                host == HOST
                and pid.isdigit()
                and int(pid) != os.getpid()
                and not pid_alive(int(pid))
            ):
                row.state, row.lease_until = PENDING, None
                freed += 1
        return freed


def prune(store: Store, older_than: dt.timedelta) -> int:
    """Delete items that ended longer ago than ``older_than``; return how many.

    Their dedupe keys go with them: an event older than that, told again, is new."""
    cutoff = now() - older_than
    with _conn(store) as conn:
        got = conn.execute(delete(_T).where(_C.state.in_([DONE, FAILED]), _C.finished < cutoff))
        return int(got.rowcount)


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
