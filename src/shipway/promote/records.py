"""Status writers for Stage and Freight, and the Freight's journey (what happened to it, where).

- ``update(store, kind, name, project, fn)``: read-modify-write of a status
  under one lock per process, so the promotion runner and the verification
  tick do not lose each other's changes;
- Freight ``currentlyIn[stage].since``, ``verifiedIn[stage]`` (``verifiedAt``,
  ``longestSoak``: the longest completed stay, written when the Freight
  leaves the stage), ``approvedFor[stage].approvedAt``; shipway keeps the
  approvals an approval policy counts in ``approvals[stage]`` (who, when);
- Stage ``autoPromotionHolds`` (set and lifted) and the newest
  ``freightHistory`` entry's ``verificationHistory``;
- ``journey``: one list per Freight (engine state ``promote.journey``) of
  promotions, verifications, approvals and rollbacks with their times, the
  Freight's release timeline; every entry is also an event with the Freight
  as its ``releaseId`` (``freight/<project>/<name>``).

Touches the store only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from shipway.model import events as ev
from shipway.model.errors import NotFoundError
from shipway.promote import gates
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

JOURNEY = "promote.journey"
_lock = threading.RLock()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime | None = None) -> str:
    return (t or now()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_precise(t: dt.datetime | None = None) -> str:
    """RFC 3339 in UTC with microseconds, ending in ``Z`` (a hold's exact instant)."""
    return (t or now()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def update(
    store: Store, kind: str, name: str, project: str,
    fn: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> dict[str, Any] | None:  # fmt: skip
    """Apply ``fn`` to a copy of the status and store what it returns (None: unchanged)."""
    with _lock:
        res = store_resources.find(store, kind, name, project)
        if res is None:
            return None
        new = fn(dict(res.status or {}))
        if new is not None:
            with contextlib.suppress(NotFoundError):
                store_resources.set_status(store, kind, name, new, project)
        return new


# --- Freight ---------------------------------------------------------------------------------


def entered(status: dict[str, Any], stage: str, at: str) -> dict[str, Any]:
    """The Freight is in ``stage`` since ``at`` (kept when it was there already)."""
    current = dict(status.get("currentlyIn") or {})
    if not (current.get(stage) or {}).get("since"):
        current[stage] = {"since": at}
    status["currentlyIn"] = current
    return status


def left(status: dict[str, Any], stage: str, at: dt.datetime) -> dict[str, Any]:
    """The Freight left ``stage``: drop it from ``currentlyIn``, keep the longest soak."""
    current = dict(status.get("currentlyIn") or {})
    stay = current.pop(stage, None)
    status["currentlyIn"] = current
    since = gates.parse_time((stay or {}).get("since"))
    verified = dict(status.get("verifiedIn") or {})
    if since is not None and stage in verified:
        entry = dict(verified[stage] or {})
        longest = gates.soaked({"verifiedIn": {stage: entry}}, stage, at)
        entry["longestSoak"] = gates.go_duration(max(longest, (at - since).total_seconds()))
        verified[stage] = entry
        status["verifiedIn"] = verified
    return status


def set_verified(store: Store, project: str, freight: str, stage: str) -> None:
    def fn(status: dict[str, Any]) -> dict[str, Any]:
        verified = dict(status.get("verifiedIn") or {})
        verified[stage] = {**(verified.get(stage) or {}), "verifiedAt": iso()}
        status["verifiedIn"] = verified
        return status

    update(store, "Freight", freight, project, fn)


def add_approval(store: Store, project: str, freight: str, stage: str, who: str,
                 required: int) -> dict[str, Any] | None:  # fmt: skip
    """Count one approval; ``approvedFor[stage]`` once ``required`` were given."""

    def fn(status: dict[str, Any]) -> dict[str, Any]:
        approvals = dict(status.get("approvals") or {})
        given = [*(approvals.get(stage) or []), {"approver": who, "at": iso()}]
        approvals[stage] = given
        status["approvals"] = approvals
        if len(given) >= required:
            status["approvedFor"] = {**(status.get("approvedFor") or {}),
                                     stage: {"approvedAt": iso()}}  # fmt: skip
        return status

    return update(store, "Freight", freight, project, fn)


# --- Stage -----------------------------------------------------------------------------------


def set_hold(store: Store, project: str, stage: str, origin: dict[str, Any], freight: str,
             reason: str, promotion: str = "", actor: str = "") -> None:  # fmt: skip
    key = f"{origin.get('kind', 'Warehouse')}/{origin.get('name', '')}"

    def fn(status: dict[str, Any]) -> dict[str, Any]:
        holds = dict(status.get("autoPromotionHolds") or {})
        holds[key] = {"freightName": freight, "origin": origin, "promotionName": promotion,
                      "actor": actor, "createdAt": iso(), "reason": reason,
                      "heldBefore": iso_precise()}  # fmt: skip
        status["autoPromotionHolds"] = holds
        return status

    update(store, "Stage", stage, project, fn)


def lift_hold(store: Store, project: str, stage: str, origin_key: str) -> bool:
    lifted = []

    def fn(status: dict[str, Any]) -> dict[str, Any] | None:
        holds = dict(status.get("autoPromotionHolds") or {})
        if holds.pop(origin_key, None) is None:
            return None
        lifted.append(origin_key)
        status["autoPromotionHolds"] = holds
        return status

    update(store, "Stage", stage, project, fn)
    return bool(lifted)


def verification_entry(store: Store, project: str, stage: str, info: dict[str, Any]) -> None:
    """Insert or replace (by ``id``) a VerificationInfo on the stage's current Freight."""

    def fn(status: dict[str, Any]) -> dict[str, Any]:
        history = [dict(h) for h in status.get("freightHistory") or []]
        if not history:
            history = [{"id": "", "items": {}}]
        entries = [e for e in history[0].get("verificationHistory") or []
                   if e.get("id") != info["id"]]  # fmt: skip
        history[0]["verificationHistory"] = [info, *entries][:10]
        status["freightHistory"] = history
        return status

    update(store, "Stage", stage, project, fn)


def set_condition(store: Store, project: str, stage: str, ctype: str, ok: bool | None,
                  reason: str, message: str) -> None:  # fmt: skip
    value = "Unknown" if ok is None else ("True" if ok else "False")

    def fn(status: dict[str, Any]) -> dict[str, Any]:
        conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
        conds.append({"type": ctype, "status": value, "reason": reason, "message": message,
                      "lastTransitionTime": iso()})  # fmt: skip
        status["conditions"] = conds
        return status

    update(store, "Stage", stage, project, fn)


# --- the Freight's journey -------------------------------------------------------------------


def release_id(project: str, freight: str) -> str:
    return f"freight/{project}/{freight}"


def journey(store: Store, project: str, freight: str) -> list[dict[str, Any]]:
    found = runs.get_state(store, JOURNEY, f"{project}/{freight}")
    return list((found[1] if found else {}).get("entries") or [])


def record(store: Store, project: str, freight: str, entry: dict[str, Any], *,
           reason: str, message: str, warn: bool = False,
           about: tuple[str, str] | None = None) -> None:  # fmt: skip
    """Add ``entry`` (``stage``, ``kind``, ``name``, ``phase``...) to the journey; emit it."""
    with _lock:
        entries = journey(store, project, freight)
        entries.append({"at": iso(), **entry})
        runs.put_state(store, JOURNEY, f"{project}/{freight}", "Open", {"entries": entries[-200:]})
    kind, name = about or ("Freight", freight)
    store_events.emit(store, ev.ObjectRef(kind, name, project), reason, message,
                      type=ev.WARNING if warn else ev.NORMAL,
                      release_id=release_id(project, freight), source="promotion")  # fmt: skip
