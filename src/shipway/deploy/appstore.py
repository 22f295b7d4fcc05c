"""Bulk access to stored Applications for passes over many of them.

``AppCache.load`` lists Applications reading only ``(id, name, generation,
status)`` per row and the full row only for applications new or changed
since the last load (a spec change bumps ``generation``), so a pass over
10,000 applications does not rebuild 10,000 ORM objects. ``write_statuses``
stores many statuses in one transaction. Applications are named by their
instance name (``shipway.model.namespaces.instance``: ``web``, ``dev_web``).
Uses the store's session and table (``shipway.store``); everything else goes
through ``store.resources``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select, update

from shipway.model import namespaces
from shipway.model.resources import Resource
from shipway.store.db import Store
from shipway.store.pins import pinned
from shipway.store.tables import ResourceRow

KIND = "Application"
GROUP = "argoproj.io"


class AppCache:
    """Applications by name, refreshed incrementally from the store."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[int, Resource]] = {}
        self.ids: dict[str, int] = {}  # instance name -> row id (for ``write_statuses``)

    def load(self, store: Store) -> list[tuple[Resource, str | None]]:
        """Every Application with its rollback pin; ``status`` may be stale (see ``statuses``).

        The light listing is a Core query (no ORM rows for 10,000 applications) that
        reads no status; the pins come from their index (``shipway.store.pins``).
        """
        with store.session() as s:
            conn = s.connection()
            light = conn.execute(
                select(ResourceRow.id, ResourceRow.generation)
                .where(ResourceRow.api_group == GROUP, ResourceRow.kind == KIND)
                .order_by(ResourceRow.namespace, ResourceRow.name)
            ).all()
            pins = pinned(conn, GROUP, KIND)  # the index of pins: only the pinned rows
            rows = self._rows
            stale = [rid for rid, gen in light if rows.get(rid, (-1,))[0] != gen]
            for chunk in _chunks(stale, 500):
                for row in s.scalars(select(ResourceRow).where(ResourceRow.id.in_(chunk))):
                    res = Resource(
                        row.api_version, row.kind, row.name, row.namespace, row.body, row.source
                    )
                    res.status = dict(row.status or {})
                    rows[row.id] = (row.generation, res)
                    self.ids[namespaces.instance(row.namespace, row.name)] = row.id
        if len(light) != len(rows):
            live_ids = {rid for rid, _ in light}
            for rid in [r for r in rows if r not in live_ids]:
                res = rows.pop(rid)[1]
                self.ids.pop(namespaces.instance(res.namespace, res.name), None)
        return [(rows[rid][1], pins.get(rid)) for rid, _ in light]

    def statuses(self, store: Store, names: list[str]) -> dict[str, dict[str, Any]]:
        """The current stored status of the named Applications (by instance name)."""
        out: dict[str, dict[str, Any]] = {}
        wanted = set(names)
        with store.session() as s:
            for chunk in _chunks(names, 500):
                plain = [namespaces.split_app(n)[1] for n in chunk]
                rows = s.execute(
                    select(ResourceRow.namespace, ResourceRow.name, ResourceRow.status).where(
                        ResourceRow.kind == KIND, ResourceRow.name.in_(plain)
                    )
                )
                for ns, name, status in rows:
                    key = namespaces.instance(ns, name)
                    if key in wanted:
                        out[key] = dict(status or {})
        return out


def write_statuses(
    store: Store, statuses: dict[str, dict[str, Any]], ids: dict[str, int] | None = None
) -> None:
    """Replace the status of many Applications in one transaction.

    With ``ids`` (instance name → row id, ``AppCache.ids``) one Core ``UPDATE``
    per row by id, without loading the rows; names it lacks are found by name.
    """
    if not statuses:
        return
    by_id = {ids[k]: v for k, v in statuses.items() if k in ids} if ids else {}
    if by_id:
        stmt = (
            update(ResourceRow.__table__)  # type: ignore[arg-type]
            .where(ResourceRow.__table__.c.id == bindparam("row_id"))
            .values(status=bindparam("new_status"))
        )
        with store.session() as s:
            s.connection().execute(stmt, [{"row_id": i, "new_status": v} for i, v in by_id.items()])
        statuses = {k: v for k, v in statuses.items() if not ids or k not in ids}
        if not statuses:
            return
    with store.session() as s:
        for chunk in _chunks(list(statuses), 500):
            plain = [namespaces.split_app(n)[1] for n in chunk]
            rows = s.scalars(
                select(ResourceRow).where(ResourceRow.kind == KIND, ResourceRow.name.in_(plain))
            )
            for row in rows:
                key = namespaces.instance(row.namespace, row.name)
                if key in statuses:
                    row.status = statuses[key]


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
