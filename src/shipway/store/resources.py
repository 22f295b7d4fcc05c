"""Stored declarative resources: apply (create or update), get, list, delete, status.

A resource is stored under ``(group, kind, namespace, name)``. Lookups take
the kind and name, and a ``namespace``: ``None`` means the kind's default
namespace (``shipway.model.namespaces``: ``argocd`` for Argo CD's kinds,
``default`` for most, none for cluster-scoped kinds); ``list_kind`` with
``None`` lists every namespace. The group is the kind's (one group per kind).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from shipway.model import namespaces as ns_mod
from shipway.model.errors import ConflictError, NotFoundError
from shipway.model.release import now
from shipway.model.resources import Resource, group_of
from shipway.store import reads
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
        created=row.created,
        generation=row.generation or 1,
    )


def _group(kind: str) -> str:
    try:
        return group_of(kind)
    except KeyError:
        return ""


def _find(s: Session, kind: str, name: str, namespace: str | None) -> ResourceRow | None:
    ns = ns_mod.resolve(kind, name, namespace)
    return s.scalars(
        select(ResourceRow).where(
            ResourceRow.api_group == _group(kind),
            ResourceRow.kind == kind,
            ResourceRow.namespace == ns,
            ResourceRow.name == name,
        )
    ).first()


def _missing(kind: str, name: str, namespace: str | None) -> NotFoundError:
    ns = ns_mod.resolve(kind, name, namespace)
    where = f" in namespace {ns!r}" if ns else ""
    key = f"{kind}/{ns}/{name}" if ns else f"{kind}/{name}"
    return NotFoundError(f"{kind} {name!r} not found{where}", subject=key)


def apply(store: Store, resources: Iterable[Resource]) -> list[tuple[Resource, str]]:
    """Store every resource in one transaction; return each with created/configured/unchanged."""
    out: list[tuple[Resource, str]] = []
    with store.session() as s:
        for res in resources:
            # a Resource built by hand with no namespace goes to its kind's default
            ns = ns_mod.resolve(res.kind, res.name, res.namespace or None)
            row = _find(s, res.kind, res.name, ns)
            t = now()
            if row is None:
                s.add(
                    ResourceRow(
                        api_group=res.group,
                        kind=res.kind,
                        namespace=ns,
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
                row.generation += 1
                row.updated = t
                out.append((res, "configured"))
    return out


def get(store: Store, kind: str, name: str, namespace: str | None = None) -> Resource:
    with store.session() as s:
        row = _find(s, kind, name, namespace)
        if row is None:
            raise _missing(kind, name, namespace)
        return _to_resource(row)


def find(store: Store, kind: str, name: str, namespace: str | None = None) -> Resource | None:
    with store.session() as s:
        row = _find(s, kind, name, namespace)
        return _to_resource(row) if row else None


def find_each(
    store: Store, refs: Iterable[tuple[str, str, str | None]]
) -> dict[tuple[str, str, str], Resource]:
    """Many ``(kind, name, namespace)`` at once (one query per kind and 500 names), keyed by
    ``(kind, namespace as given or "", name)``; the missing ones are left out."""
    wanted: dict[str, dict[tuple[str, str], tuple[str, str, str]]] = {}
    for kind, name, namespace in refs:
        ns = ns_mod.resolve(kind, name, namespace)
        wanted.setdefault(kind, {})[(ns, name)] = (kind, namespace or "", name)
    out: dict[tuple[str, str, str], Resource] = {}
    with store.session() as s:
        for kind, keys in wanted.items():
            pairs = list(keys)
            for i in range(0, len(pairs), 500):
                which = tuple_(ResourceRow.namespace, ResourceRow.name).in_(pairs[i : i + 500])
                of_kind = (ResourceRow.api_group == _group(kind), ResourceRow.kind == kind)
                rows = s.scalars(select(ResourceRow).where(*of_kind, which))
                for row in rows:
                    out[keys[(row.namespace, row.name)]] = _to_resource(row)
    return out


def list_kind(store: Store, kind: str, namespace: str | None = None) -> list[Resource]:
    """Every ``kind`` resource in ``namespace`` (``None``: in all), by namespace and name."""
    return reads.list_kind(reads.engine_reader(store.engine), kind, namespace)


def in_namespace(store: Store, namespace: str) -> list[Resource]:
    """Every resource of any kind in ``namespace``."""
    with store.session() as s:
        rows = s.scalars(
            select(ResourceRow)
            .where(ResourceRow.namespace == namespace)
            .order_by(ResourceRow.kind, ResourceRow.name)
        )
        return [_to_resource(r) for r in rows]


def namespaces(store: Store) -> list[str]:
    """The namespaces that exist: the built-in ones, each Kargo Project's, and those in use."""
    with store.session() as s:
        used = set(s.scalars(select(ResourceRow.namespace).distinct()))
        named = ResourceRow.kind.in_(("Project", "Namespace"))
        projects = set(s.scalars(select(ResourceRow.name).where(named)))
    return sorted((used | projects | set(ns_mod.BUILTIN)) - {""})


def delete(store: Store, kind: str, name: str, namespace: str | None = None) -> None:
    """Remove one resource; a Kargo Project only once its namespace holds nothing."""
    with store.session() as s:
        row = _find(s, kind, name, namespace)
        if row is None:
            raise _missing(kind, name, namespace)
        if kind in ("Project", "Namespace"):
            held = s.scalars(select(ResourceRow).where(ResourceRow.namespace == name)).all()
            if held:
                names = ", ".join(f"{r.kind}/{r.name}" for r in held[:5])
                more = f" and {len(held) - 5} more" if len(held) > 5 else ""
                what = "of this Project " if kind == "Project" else ""
                raise ConflictError(
                    f"namespace {name!r} {what}still holds {names}{more}; delete them first",
                    subject=f"{kind}/{name}",
                )
        s.delete(row)


def set_status(
    store: Store, kind: str, name: str, status: dict[str, Any], namespace: str | None = None
) -> None:
    """Replace the status of a resource (engines own status; users own spec)."""
    with store.session() as s:
        row = _find(s, kind, name, namespace)
        if row is None:
            raise _missing(kind, name, namespace)
        row.status = status
        row.updated = now()  # the UI's application index reloads rows whose time moved


def annotate(
    store: Store, kind: str, name: str, key: str, value: str, namespace: str | None = None
) -> Resource:
    """Set one annotation of a stored resource without a new generation (a metadata change,
    as Kubernetes does not count one), e.g. Kargo's refresh request; the resource after."""
    with store.session() as s:
        row = _find(s, kind, name, namespace)
        if row is None:
            raise _missing(kind, name, namespace)
        body = dict(row.body)
        meta = dict(body.get("metadata") or {})
        meta["annotations"] = {**(meta.get("annotations") or {}), key: value}
        body["metadata"] = meta
        row.body = body
        row.updated = now()
        return _to_resource(row)
