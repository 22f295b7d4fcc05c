"""Which Freight auto-promotion takes to a Stage, as Kargo chooses it. Pure: no I/O.

``choose(stage, spec, status, freights, now)`` answers, per requested origin,
the Freight to promote (or why none): with ``selectionPolicy`` NewestFreight
the newest Freight of the origin (by creation) that is available to the stage
(``gates.availability``: approved, direct, or verified and soaked upstream
under OneOf/All); with MatchUpstream the one the single upstream stage holds
now. An ``autoPromotionHolds`` entry for the origin (a rollback's hold on the
Freight that failed, or the pin a person's manual promotion leaves) holds
back every Freight made before the hold (``heldBefore``, a precise time;
``createdAt`` otherwise): only newer Freight is promoted, and promoting it
lifts the hold. Nothing is chosen when the stage already holds
the candidate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from shipway.model.kargo_stage import StageSpec
from shipway.promote import gates


@dataclass
class FreightInfo:
    name: str
    body: dict[str, Any]
    status: dict[str, Any]
    created: dt.datetime

    @property
    def origin(self) -> str:
        o = self.body.get("origin") or {}
        return f"{o.get('kind', 'Warehouse')}/{o.get('name', '')}"


@dataclass
class Choice:
    origin: str
    freight: str | None
    reason: str
    lifts_hold: bool = False


def current(status: dict[str, Any]) -> dict[str, str]:
    """Origin → the Freight the stage holds now (its newest freightHistory entry)."""
    history = status.get("freightHistory") or []
    items = (history[0].get("items") or {}) if history else {}
    return {k: str(v.get("name", "")) for k, v in items.items()}


def _aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def choose(
    stage: str,
    spec: StageSpec,
    status: dict[str, Any],
    freights: list[FreightInfo],
    now: dt.datetime,
) -> list[Choice]:
    held = status.get("autoPromotionHolds") or {}
    have = current(status)
    out = []
    for req in spec.requested_freight:
        origin = f"{req.origin.kind}/{req.origin.name}"
        pool = sorted((f for f in freights if f.origin == origin),
                      key=lambda f: _aware(f.created), reverse=True)  # fmt: skip
        hold: dict[str, Any] = held.get(origin) or {}
        hold_at = gates.parse_time(hold.get("heldBefore") or hold.get("createdAt"))
        if req.sources.selection_policy == "MatchUpstream":
            up = req.sources.stages[0]
            pool = [f for f in pool if up in (f.status.get("currentlyIn") or {})]
        pick, why = None, "no Freight is available"
        for f in pool:
            if hold_at is not None and _aware(f.created) <= hold_at:
                why = (f"held: {hold.get('reason', 'hold')} on Freight {hold.get('freightName')}"
                       " (only newer Freight is promoted)")  # fmt: skip
                break
            avail = gates.availability(req, stage, f.status, now)
            if avail.ok:
                pick = f
                break
            why = f"Freight {f.name}: {avail.reason}"
        if pick is None:
            out.append(Choice(origin, None, why))
        elif have.get(origin) == pick.name:
            out.append(Choice(origin, None, f"stage already holds Freight {pick.name}"))
        else:
            out.append(Choice(origin, pick.name, "newest available", lifts_hold=bool(hold)))
    return out
