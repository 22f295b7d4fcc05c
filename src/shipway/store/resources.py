"""Stored declarative resources: apply (create or update), get, list, delete, status."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway.model.errors import NotFoundError
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.store.db import Store
from shipway.store.tables import ResourceRow


def _to_resource(row: ResourceRow) -> Resource:
    return Resource(
        api_version=row.api_version,
        kind=row.kind,
        name=row.name,
        namespace=row.namespace,
        body=row.body,
        source=row.source,
        status=dict(row.status or {}),
    )


def _find(s: Session, kind: str, name: str) -> ResourceRow | None:
    return s.scalars(
        select(ResourceRow).where(ResourceRow.kind == kind, ResourceRow.name == name)
    ).first()


def apply(store: Store, resources: Iterable[Resource]) -> list[tuple[Resource, str]]:
    """Store every resource in one transaction; return each with created/configured/unchanged."""
    out: list[tuple[Resource, str]] = []
    with store.session() as s:
        for res in resources:
            row = _find(s, res.kind, res.name)
            t = now()
            if row is None:
                s.add(
                    ResourceRow(
                        kind=res.kind,
                        namespace=res.namespace,
                        name=res.name,
                        api_version=res.api_version,
                        body=res.body,
                        status={},
                        source=res.source,
                        generation=1,
                        created=t,
                        updated=t,
                    )
                )
                out.append((res, "created"))
            elif row.body == res.body:
                out.append((res, "unchanged"))
            else:
                row.body, row.api_version, row.source = res.body, res.api_version, res.source
                row.namespace = res.namespace
                row.generation += 1
                row.updated = t
                out.append((res, "configured"))
    return out


def get(store: Store, kind: str, name: str) -> Resource:
    with store.session() as s:
        row = _find(s, kind, name)
        if row is None:
            raise NotFoundError(f"{kind} {name!r} not found", subject=f"{kind}/{name}")
        return _to_resource(row)


def find(store: Store, kind: str, name: str) -> Resource | None:
    with store.session() as s:
        row = _find(s, kind, name)
        return _to_resource(row) if row else None


def list_kind(store: Store, kind: str) -> list[Resource]:
    with store.session() as s:
        rows = s.scalars(
            select(ResourceRow).where(ResourceRow.kind == kind).order_by(ResourceRow.name)
        )
        return [_to_resource(r) for r in rows]


def delete(store: Store, kind: str, name: str) -> None:
    with store.session() as s:
        row = _find(s, kind, name)
        if row is None:
            raise NotFoundError(f"{kind} {name!r} not found", subject=f"{kind}/{name}")
        s.delete(row)


def set_status(store: Store, kind: str, name: str, status: dict[str, Any]) -> None:
    """Replace the status of a resource (engines own status; users own spec)."""
    with store.session() as s:
        row = _find(s, kind, name)
        if row is None:
            raise NotFoundError(f"{kind} {name!r} not found", subject=f"{kind}/{name}")
        row.status = status
