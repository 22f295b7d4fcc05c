"""Stored previews (``previews``) and the host ports they hold (``preview_ports``).

Migration 0011 mirrors the two tables. A preview row keeps the record
(``shipway.model.preview.Preview``) as JSON with its name, ApplicationSet,
number, phase and times as columns to query by. ``preview_ports`` maps each
allocated loopback port (the primary key: no two previews, and no two objects,
ever hold one port) to the preview and the object that publishes it; the
allocation keeps a preview's ports across pushes and frees them on teardown.
Touches only these tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from shipway.model.errors import ClusterError
from shipway.model.preview import Preview
from shipway.model.release import now
from shipway.store.db import Store
from shipway.store.recorded import aware
from shipway.store.tables import Base


class PreviewRow(Base):
    __tablename__ = "previews"

    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    appset_namespace: Mapped[str] = mapped_column(String(253), default="")
    appset: Mapped[str] = mapped_column(String(253), index=True)
    number: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(32), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PreviewPortRow(Base):
    __tablename__ = "preview_ports"

    host_port: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    preview: Mapped[str] = mapped_column(String(253), index=True)
    object: Mapped[str] = mapped_column(String(400))
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def _record(row: PreviewRow) -> Preview:
    body = dict(row.body)
    for key in ("created", "updated", "expires"):
        body.pop(key, None)
    return Preview(**body, created=aware(row.created), updated=aware(row.updated),
                   expires=aware(row.expires))  # fmt: skip


def put(store: Store, preview: Preview) -> Preview:
    """Create or replace the record (``created``/``updated`` default to now)."""
    at = now()
    preview = preview.evolve(created=preview.created or at, updated=preview.updated or at)
    body = preview.to_dict()
    for key in ("created", "updated", "expires"):
        body.pop(key)
    with store.session() as s:
        row = s.get(PreviewRow, preview.name)
        if row is None:
            row = PreviewRow(name=preview.name)
            s.add(row)
        row.appset_namespace, row.appset = preview.appset_namespace, preview.appset
        row.number, row.phase, row.body = preview.number, preview.phase, body
        assert preview.created is not None and preview.updated is not None
        row.created, row.updated, row.expires = preview.created, preview.updated, preview.expires
    return preview


def get(store: Store, name: str) -> Preview | None:
    with store.session() as s:
        row = s.get(PreviewRow, name)
        return _record(row) if row is not None else None


def list_all(store: Store, appset: tuple[str, str] | None = None) -> list[Preview]:
    """Every preview (of one ``(namespace, name)`` ApplicationSet when given), by name."""
    with store.session() as s:
        q = select(PreviewRow).order_by(PreviewRow.name)
        if appset is not None:
            q = q.where(PreviewRow.appset_namespace == appset[0], PreviewRow.appset == appset[1])
        return [_record(r) for r in s.scalars(q)]


def remove(store: Store, name: str) -> None:
    """Forget the preview and free its ports."""
    with store.session() as s:
        s.execute(delete(PreviewPortRow).where(PreviewPortRow.preview == name))
        s.execute(delete(PreviewRow).where(PreviewRow.name == name))


def release(store: Store, preview: str, ports: Iterable[int]) -> None:
    """Free some of a preview's ports (something else took them: the next sync allocates anew)."""
    mine = PreviewPortRow.preview == preview
    with store.session() as s:
        s.execute(delete(PreviewPortRow).where(mine, PreviewPortRow.host_port.in_(list(ports))))


def ports_of(store: Store, preview: str) -> dict[str, int]:
    """Object (``Service/<ns>/<name>:<port>``) → the host port it holds."""
    with store.session() as s:
        rows = s.scalars(select(PreviewPortRow).where(PreviewPortRow.preview == preview))
        return {r.object: r.host_port for r in rows}


def all_ports(store: Store) -> dict[int, str]:
    with store.session() as s:
        return {r.host_port: r.preview for r in s.scalars(select(PreviewPortRow))}


def allocate(
    store: Store,
    preview: str,
    objects: Iterable[str],
    candidates: range,
    is_free: Callable[[int], bool],
) -> dict[str, int]:
    """A host port for each of ``objects``: the one it holds, else the first candidate no
    preview holds and ``is_free`` accepts. The primary key makes a port taken by another
    process at the same moment fail its insert, and the next candidate is tried."""
    held = ports_of(store, preview)
    out = {o: held[o] for o in objects if o in held}
    wanted = [o for o in objects if o not in out]
    if not wanted:
        return out
    taken = set(all_ports(store))
    ports = (p for p in candidates if p not in taken)
    for obj in wanted:
        for port in ports:
            if not is_free(port):
                continue
            try:
                with store.session() as s:
                    s.add(PreviewPortRow(host_port=port, preview=preview, object=obj,
                                         created=now()))  # fmt: skip
            except IntegrityError:
                continue
            except Exception as exc:  # the store wraps its errors; a taken key is one of them
                if "UNIQUE" in str(exc).upper() or "duplicate key" in str(exc):
                    continue
                raise
            out[obj] = port
            break
        else:
            raise ClusterError(
                f"no free host port left for {obj} in {candidates.start}-{candidates.stop - 1} "
                "(SHIPWAY_PREVIEW_PORTS)",
                subject=f"Preview/{preview}",
            )
    return out
