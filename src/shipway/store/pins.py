"""Rollback pins of stored resources, read through the ``ix_resources_pin`` index.

``status.pin.revision`` is written with the rest of a status (``shipway.deploy.history``
pins, ``engine.reconcile(unpin=True)`` lifts); migration 0012 indexes the rows
that have one. ``pinned`` asks with the very expression the index is built on,
so the database reads the index only (a few entries), never every status.
May touch: the ``resources`` table, read only.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

PIN_SQL = {
    "sqlite": "json_extract(status, '$.pin.revision')",
    "postgresql": "((status -> 'pin') ->> 'revision')",
}
"""The indexed expression by dialect (migration 0012 holds a frozen copy)."""


def query(dialect: str) -> str:
    """The SQL of ``pinned`` on ``dialect`` (``:group``, ``:kind``), for plans in tests."""
    pin = PIN_SQL[dialect]
    return (
        f"SELECT id, {pin} FROM resources "
        f"WHERE api_group = :group AND kind = :kind AND {pin} IS NOT NULL"
    )


def pinned(conn: Connection, group: str, kind: str) -> dict[int, str]:
    """Row id → pinned revision of every ``group``/``kind`` resource with a pin."""
    rows = conn.execute(text(query(conn.dialect.name)), {"group": group, "kind": kind})
    return {int(rid): str(rev) for rid, rev in rows if rev}
