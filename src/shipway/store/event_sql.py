"""The event writer's statements as DBAPI SQL, built once per dialect.

The events' batch write (``shipway.store.event_writer``) runs three to four
statements a batch. Through SQLAlchemy's execution layer each costs about as
much CPU as SQLite takes to run it (parameter construction, result-proxy
setup, type processing per cell), so the writer runs them on the
transaction's DBAPI cursor: the SQL text is built here once per dialect
(``qmark`` for SQLite, ``format`` for psycopg), and values are converted with
the columns' own SQLAlchemy type processors, so what is stored is byte for
byte what the ORM stores and reads back.

- ``max_seq(cur)``: the newest stream position;
- ``newest(cur, keys)``: the newest row of each aggregation key;
- ``insert(cur, rows)``: one multi-row ``INSERT ... RETURNING id, seq`` (the
  ids are matched by ``seq``, unique within the batch, so the order rows come
  back in does not matter);
- ``bump(cur, rows)``: ``executemany`` of the repeats' count/time/seq;
- ``after(cur, seq, limit)``: the rows after a stream position, in order (the
  routers' and the stream's read).

Touches only the ``events`` table, through the cursor it is handed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Table

from shipway.store.tables import EventRow

_T: Table = EventRow.__table__  # type: ignore[assignment]

COLUMNS = ("time", "first_time", "source", "reason", "message", "subject", "seq", "key",
           "type", "api_version", "kind", "namespace", "name", "uid", "release_id",
           "count")  # fmt: skip
"""The inserted columns, in ``insert``'s order."""

READ = ("id", *COLUMNS)
"""The columns ``newest`` reads, in its rows' order."""

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class Plan:
    """One dialect's SQL and value conversions."""

    mark: str
    binds: tuple[Processor | None, ...]  # per COLUMNS
    results: tuple[Processor | None, ...]  # per READ
    bump_binds: tuple[Processor | None, ...]  # count, time, seq, id
    max_seq: str
    newest_head: str
    insert_head: str
    row_marks: str
    bump: str
    key_col: str
    after: str


_PLANS: dict[str, Plan] = {}


def plan(dialect: Dialect) -> Plan:
    """The statements for ``dialect`` (built on first use)."""
    found = _PLANS.get(dialect.name)
    if found is None:
        found = _PLANS[dialect.name] = _build(dialect)
    return found


def _bind(dialect: Dialect, name: str) -> Processor | None:
    return _T.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _result(dialect: Dialect, name: str) -> Processor | None:
    return _T.c[name].type.dialect_impl(dialect).result_processor(dialect, None)


def _build(dialect: Dialect) -> Plan:
    if dialect.paramstyle == "qmark":
        mark = "?"
    elif dialect.paramstyle in ("format", "pyformat"):
        mark = "%s"
    else:  # pragma: no cover - the drivers shipway installs are qmark or format
        raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
    q = dialect.identifier_preparer.quote
    cols = ", ".join(q(c) for c in COLUMNS)
    read = ", ".join(q(c) for c in READ)
    return Plan(
        mark=mark,
        binds=tuple(_bind(dialect, c) for c in COLUMNS),
        results=tuple(_result(dialect, c) for c in READ),
        bump_binds=tuple(_bind(dialect, c) for c in ("count", "time", "seq", "id")),
        max_seq="SELECT coalesce(max(seq), 0) FROM events",
        newest_head=f"SELECT {read} FROM events WHERE id IN (SELECT max(id) FROM events "
        f"WHERE {q('key')} IN ",
        insert_head=f"INSERT INTO events ({cols}) VALUES ",
        row_marks="(" + ", ".join([mark] * len(COLUMNS)) + ")",
        bump=f"UPDATE events SET {q('count')} = {mark}, {q('time')} = {mark}, seq = {mark} "
        f"WHERE id = {mark}",
        key_col=q("key"),
        after=f"SELECT {read} FROM events WHERE seq > {mark} ORDER BY seq LIMIT {mark}",
    )


def _convert(values: Sequence[Any], procs: Sequence[Processor | None]) -> list[Any]:
    return [v if p is None or v is None else p(v) for v, p in zip(values, procs, strict=True)]


def max_seq(cur: Any, p: Plan) -> int:
    cur.execute(p.max_seq)
    row = cur.fetchone()
    return int(row[0] or 0) if row else 0


def newest(cur: Any, p: Plan, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The newest row of each key, as ``{column: value}`` in ``READ``'s names."""
    if not keys:
        return []
    marks = ", ".join([p.mark] * len(keys))
    cur.execute(f"{p.newest_head}({marks}) GROUP BY {p.key_col})", list(keys))
    return [dict(zip(READ, _convert(r, p.results), strict=True)) for r in cur.fetchall()]


def insert(cur: Any, p: Plan, rows: Sequence[Sequence[Any]]) -> dict[int, int]:
    """Insert ``rows`` (values in ``COLUMNS`` order); returns ``{seq: id}``."""
    if not rows:
        return {}
    flat: list[Any] = []
    for r in rows:
        flat.extend(_convert(r, p.binds))
    sql = f"{p.insert_head}{', '.join([p.row_marks] * len(rows))} RETURNING id, seq"
    cur.execute(sql, flat)
    return {int(seq): int(rid) for rid, seq in cur.fetchall()}


def bump(cur: Any, p: Plan, rows: Sequence[tuple[int, Any, int, int]]) -> None:
    """Set ``(count, time, seq)`` of row ``id`` for each ``(count, time, seq, id)``."""
    if rows:
        cur.executemany(p.bump, [_convert(r, p.bump_binds) for r in rows])


def after(cur: Any, p: Plan, seq: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows after position ``seq``, in stream order, as ``newest`` gives them."""
    cur.execute(p.after, [seq, limit])
    return [dict(zip(READ, _convert(r, p.results), strict=True)) for r in cur.fetchall()]
