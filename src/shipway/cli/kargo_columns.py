"""Table columns of Kargo kinds in ``shipway get`` (as ``kargo get warehouses|freight`` shows
them); ``-o wide`` adds what each holds. Other kinds keep the generic name/source table."""

from __future__ import annotations

from typing import Any

from shipway.model.resources import Resource


def _freight(r: Resource, wide: bool) -> list[Any]:
    origin = r.body.get("origin") or {}
    row: list[Any] = [r.name, r.body.get("alias", ""), origin.get("kind", ""),
                      origin.get("name", "")]  # fmt: skip
    if wide:
        images = [f"{i.get('repoURL')}:{i.get('tag')}" for i in r.body.get("images") or []]
        commits = [f"{c.get('repoURL')}@{str(c.get('id', ''))[:7]}"
                   for c in r.body.get("commits") or []]  # fmt: skip
        row.append(", ".join(images + commits))
    return row


def _warehouse(r: Resource, wide: bool) -> list[Any]:
    conds = (r.status or {}).get("conditions") or [{}]
    row: list[Any] = [r.name, conds[0].get("status", "Unknown"),
                      (r.status or {}).get("lastFreightID", "")]  # fmt: skip
    if wide:
        row += [r.spec.get("freightCreationPolicy", "Automatic"), r.spec.get("interval", "5m0s"),
                conds[0].get("message", "")]  # fmt: skip
    return row


HEADERS = {
    "Freight": (["name", "alias", "origin (kind)", "origin (name)"], ["contents"]),
    "Warehouse": (["name", "ready", "last freight"], ["freight creation", "interval", "message"]),
}


def table(kind: str, items: list[Resource], wide: bool) -> tuple[list[str], list[list[Any]]] | None:
    """Headers and rows for a Kargo kind, or None for kinds without their own columns."""
    if kind not in HEADERS:
        return None
    base, extra = HEADERS[kind]
    row = _freight if kind == "Freight" else _warehouse
    return base + (extra if wide else []), [row(r, wide) for r in items]
