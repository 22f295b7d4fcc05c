"""Promotion, Stage and Freight status as Kargo shapes them. Pure: no I/O.

- ``step_meta``: one ``stepExecutionMetadata`` entry (alias, startedAt,
  finishedAt, errorCount, status, message);
- ``promotion_status``: a Promotion's status (phase, message, currentStep,
  stepExecutionMetadata, state = the step outputs, freight, finishedAt);
- ``after_success``: the Stage status (``lastPromotion``, ``freightHistory``
  newest first, at most 10 entries as Kargo keeps, one Freight per origin)
  and the Freight status (``currentlyIn``: the stage added, the stage removed
  from Freight it replaced) once a promotion succeeded. ``verifiedIn`` and
  ``approvedFor`` belong to verification and are left as they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

PHASES = ("Pending", "Running", "Succeeded", "Failed", "Errored", "Aborted")
TERMINAL = frozenset({"Succeeded", "Failed", "Errored", "Aborted"})
HISTORY_LIMIT = 10


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def step_meta(alias: str) -> dict[str, Any]:
    return {"alias": alias, "startedAt": now(), "errorCount": 0, "status": "Running"}


def freight_ref(freight: dict[str, Any]) -> dict[str, Any]:
    """How a Promotion's and a Stage's status name a Freight (Kargo's ``FreightReference``)."""
    meta = freight.get("metadata") or {}
    out: dict[str, Any] = {"name": meta.get("name") or freight.get("name", "")}
    for key in ("origin", "images", "commits", "charts"):
        if freight.get(key):
            out[key] = freight[key]
    return out


def promotion_status(
    phase: str,
    metas: list[dict[str, Any]],
    outputs: dict[str, Any],
    freight: dict[str, Any],
    *,
    current: int,
    message: str = "",
    started: str = "",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "phase": phase,
        "currentStep": current,
        "stepExecutionMetadata": metas,
        "state": outputs,
        "freight": freight_ref(freight),
    }
    if message:
        out["message"] = message
    if started:
        out["startedAt"] = started
    if phase in TERMINAL:
        out["finishedAt"] = now()
    return out


def _origin_key(ref: dict[str, Any]) -> str:
    origin = ref.get("origin") or {}
    return f"{origin.get('kind', 'Warehouse')}/{origin.get('name', '')}"


def after_success(
    stage_status: dict[str, Any],
    promotion: dict[str, Any],
    freight: dict[str, Any],
    freight_statuses: dict[str, dict[str, Any]],
    stage: str,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The Stage's new status and the new status of each Freight whose ``currentlyIn`` changed.

    ``promotion`` is ``{"name", "status"}``; ``freight_statuses`` maps Freight
    names (the target and the stage's current ones) to their status.
    """
    ref = freight_ref(freight)
    history = [dict(h) for h in stage_status.get("freightHistory") or []]
    current = dict(history[0]) if history else {"items": {}}
    items = dict(current.get("items") or {})
    replaced = items.get(_origin_key(ref))
    items[_origin_key(ref)] = ref
    entry = {"id": promotion["name"], "items": items}
    new_stage = dict(stage_status)
    new_stage["freightHistory"] = [entry, *history][:HISTORY_LIMIT]
    new_stage["lastPromotion"] = {
        "name": promotion["name"],
        "freight": ref,
        "status": promotion.get("status") or {},
        "finishedAt": (promotion.get("status") or {}).get("finishedAt") or now(),
    }
    changed: dict[str, dict[str, Any]] = {}
    target = dict(freight_statuses.get(ref["name"]) or {})
    target["currentlyIn"] = {**(target.get("currentlyIn") or {}), stage: {}}
    changed[ref["name"]] = target
    old = (replaced or {}).get("name")
    if old and old != ref["name"]:
        prev = dict(freight_statuses.get(old) or {})
        prev["currentlyIn"] = {
            k: v for k, v in (prev.get("currentlyIn") or {}).items() if k != stage
        }
        changed[old] = prev
    return new_stage, changed
