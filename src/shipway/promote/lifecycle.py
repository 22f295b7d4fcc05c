"""What follows a promotion or a verification: verification, automatic rollback, auto-promotion.

- ``after_promotion(key)`` (the runner calls it when a promotion ends; ``resume``
  catches up on any a killed process missed): a success starts the stage's
  verification; a failure rolls the stage back when the project's
  ``autoRollback.onPromotion`` names its phase (Failed, Errored), unless the
  supply-chain gates refused it (nothing ran, nothing to roll back; a refused
  auto-promotion holds the stage's auto-promotion to newer Freight); a finished
  rollback is told as a ``RolledBack`` event. Each is done once (``followed``).
- ``after_verification``: a verification whose phase ``autoRollback.onVerification``
  names (default ``[Failed]``, only when ``autoRollback`` is set) rolls back.
- ``rollback``: an ordinary Promotion of the stage's last verified Freight
  (``shipway.dev/rollback-of`` names the one that failed), queued for the
  promotion lane; the failed Freight gets an ``autoPromotionHolds`` entry so
  auto-promotion does not take it there again; the Freight's journey and the
  event stream show it. As in Kargo, a rollback passes the same promotion
  windows as any promotion and waits for the stage to settle (no promotion
  under way): refused for either, it is kept waiting (engine
  ``promote.rollback``, phase Waiting, ``RollbackWaiting``) and tried again on
  every ``tick`` until it starts, until a promotion that ran meanwhile has
  replaced the failed Freight (``RollbackSuperseded``: the queued promotion
  resolved it, as Kargo lets it), or until the failure is older than
  ``MAX_FAILURE_AGE`` (Kargo's 20 minutes: ``RollbackExpired``, a person
  decides).
- ``auto_promote``: for every stage a ``promotionPolicies`` entry enables
  (``stageSelector``: name, glob, regex, labels), the Freight
  ``autopolicy.choose`` picks is promoted, through the same gates as a person's
  promotion (``promote.start``: windows, soak, one promotion at a time).
- ``soak_pass``: each soaking stage's ``status.soak`` (which Freight, until when),
  for ``get stages -o wide``;
- ``tick``: one pass of the verification engine, auto-promotion, the soak
  display (the controller runs it every half second, the soak display every 10th)
  and the Stages' health and conditions (``stage_refresh``). ``WAKE`` is set when a
  verification starts, so the controller's next pass runs at once instead of up to
  half a second later (its first measurement is due at once unless ``initialDelay``).

Touches the store only (the providers, through ``verification.tick``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from shipway.model import events as ev
from shipway.model import kargo_stage
from shipway.model.errors import ConflictError, ShipwayError
from shipway.promote import autopolicy, gates, records, runner, stage_refresh, verification
from shipway.promote import start as start_mod
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

log = logging.getLogger("shipway.promote")
AUTO_ACTOR = "shipway:auto-promotion"
ROLLBACK_ACTOR = "shipway:auto-rollback"
PENDING = "promote.rollback"
"""The engine whose Waiting states are rollbacks a window or a busy stage held back."""
MAX_FAILURE_AGE = dt.timedelta(minutes=20)
"""Kargo's rollback horizon: a failure older than this is not rolled back automatically."""
WAKE = threading.Event()
"""Set when there is work for the next ``tick`` (a verification started): the
controller's tick loop waits on it, with its half-second interval as the fallback."""


def after_promotion(store: Store, key: str) -> None:
    found = runs.get_state(store, runner.ENGINE, key)
    if found is None:
        return
    phase, state = found
    if phase not in ("Succeeded", "Failed", "Errored", "Aborted") or state.get("followed"):
        return
    if "actor" not in state:  # made by runner.create alone (no gates, no follow-up)
        return
    state["followed"] = True
    runs.put_state(store, runner.ENGINE, key, phase, state)
    project, stage, name = state["project"], state["stage"], state["name"]
    freight = str(state["freight"].get("name") or "")
    records.record(store, project, freight,
                   {"stage": stage, "kind": "promotion", "name": name, "phase": phase,
                    "message": state.get("message", ""),
                    "rollbackOf": state.get("rollbackOf", ""),
                    **({"security": state["security"]} if state.get("security") else {})},
                   reason=f"Promotion{phase}",
                   message=f"promotion {name} to stage {stage}: {phase}"
                           + (f": {state['message']}" if state.get("message") else ""),
                   warn=phase != "Succeeded", about=("Promotion", name))  # fmt: skip
    failed_from = state.get("rollbackOf") or ""
    if phase == "Succeeded":
        if failed_from:
            records.record(store, project, failed_from,
                           {"stage": stage, "kind": "rollback", "name": name,
                            "phase": "Succeeded", "to": freight},
                           reason=ev.ROLLBACK,
                           message=f"stage {stage} rolled back from Freight {failed_from} to "
                                   f"{freight} by promotion {name}",
                           warn=True, about=("Stage", stage))  # fmt: skip
        try:
            verification.start(store, project, stage, freight, actor=state.get("actor", ""),
                               promotion=name)  # fmt: skip
        except ShipwayError as exc:
            log.error("verification of %s in %s: %s", freight, stage, exc)
        WAKE.set()
        return
    if state.get("refused"):
        if state.get("auto"):  # the same Freight would be refused again on every pass
            bad = store_resources.find(store, "Freight", freight, project)
            origin = dict((bad.body.get("origin") or {}) if bad else {})
            records.set_hold(store, project, stage, origin, freight, "PolicyRefused", name,
                             AUTO_ACTOR)  # fmt: skip
        return
    if phase in ("Failed", "Errored") and not failed_from:
        policy = _policy(store, project, stage)
        if policy is not None and policy.auto_rollback is not None \
                and phase in policy.auto_rollback.on_promotion:  # fmt: skip
            rollback(store, project, stage, freight, f"promotion {name} {phase.lower()}")


def after_verification(store: Store, project: str, stage: str, freight: str, phase: str,
                       promotion: str = "") -> None:  # fmt: skip
    if phase not in ("Failed", "Error"):
        return
    done = runs.get_state(store, runner.ENGINE, runner.key_of(project, promotion))
    if done is not None and done[1].get("rollbackOf"):
        records.record(store, project, freight,
                       {"stage": stage, "kind": "rollback", "phase": "NotRepeated",
                        "message": f"verification {phase.lower()} after a rollback"},
                       reason="RollbackNotRepeated",
                       message=f"stage {stage}: the Freight a rollback restored failed "
                               "verification too; a person must decide", warn=True,
                       about=("Stage", stage))  # fmt: skip
        return
    policy = _policy(store, project, stage)
    if policy is None or policy.auto_rollback is None:
        return
    if phase in policy.auto_rollback.effective_on_verification:
        rollback(store, project, stage, freight, f"verification {phase.lower()}")


def _policy(store: Store, project: str, stage: str) -> Any:
    res = store_resources.find(store, "Stage", stage, project)
    if res is None:
        return None
    return start_mod.project_config(store, project).policy_for(stage, start_mod.labels(res))


def last_verified(store: Store, project: str, stage: str, failed: str) -> str | None:
    """The newest Freight of the failed one's origin the stage verified before it."""
    res = store_resources.find(store, "Stage", stage, project)
    bad = store_resources.find(store, "Freight", failed, project)
    if res is None:
        return None
    origin = (bad.body.get("origin") or {}) if bad else {}
    key = f"{origin.get('kind', 'Warehouse')}/{origin.get('name', '')}"
    seen: set[str] = set()
    for entry in (res.status or {}).get("freightHistory") or []:
        item = (entry.get("items") or {}).get(key) or {}
        name = str(item.get("name") or "")
        if not name or name == failed or name in seen:
            continue
        seen.add(name)
        found = store_resources.find(store, "Freight", name, project)
        if found is not None and stage in ((found.status or {}).get("verifiedIn") or {}):
            return name
    return None


def rollback(store: Store, project: str, stage: str, failed: str, why: str,
             failed_at: str | None = None) -> str | None:  # fmt: skip
    """Promote ``stage`` back to its last verified Freight; the rollback's promotion name
    (None when there is nothing to roll back to, or it waits for a window or the stage)."""
    target = last_verified(store, project, stage, failed)
    if target is None:
        records.record(store, project, failed,
                       {"stage": stage, "kind": "rollback", "phase": "Impossible",
                        "message": why},
                       reason="RollbackImpossible",
                       message=f"stage {stage}: {why}, and there is no earlier verified Freight "
                               "to roll back to", warn=True, about=("Stage", stage))  # fmt: skip
        return None
    bad = store_resources.find(store, "Freight", failed, project)
    origin = dict((bad.body.get("origin") or {}) if bad else {})
    records.set_hold(store, project, stage, origin, failed, "Rollback", actor=ROLLBACK_ACTOR)
    try:
        started = start_mod.start(store, project=project, stage=stage, freight=target,
                                  actor=ROLLBACK_ACTOR, rollback_of=failed)  # fmt: skip
    except ConflictError as exc:  # a window is closed or a promotion is under way: wait
        key = f"{project}/{stage}"
        before = runs.get_state(store, PENDING, key)
        first = before is None or before[0] != "Waiting"
        runs.put_state(store, PENDING, key, "Waiting",
                       {"project": project, "stage": stage, "failed": failed, "why": why,
                        "failedAt": failed_at or records.iso(records.now()),
                        "reason": exc.message})  # fmt: skip
        if first:
            records.record(store, project, failed,
                           {"stage": stage, "kind": "rollback", "phase": "Waiting",
                            "to": target, "message": exc.message},
                           reason="RollbackWaiting",
                           message=f"stage {stage}: {why}: rollback to {target} waits: "
                                   f"{exc.message}", warn=True,
                           about=("Stage", stage))  # fmt: skip
        return None
    except ShipwayError as exc:
        records.record(store, project, failed,
                       {"stage": stage, "kind": "rollback", "phase": "Refused",
                        "message": str(exc)},
                       reason="RollbackRefused", message=f"stage {stage}: rollback to {target}: "
                       f"{exc}", warn=True, about=("Stage", stage))  # fmt: skip
        return None
    _settle(store, project, stage, "Started")
    start_mod.queue(store, started.key)
    records.record(store, project, failed,
                   {"stage": stage, "kind": "rollback", "name": started.name,
                    "phase": "Started", "to": target, "message": why},
                   reason="RollbackStarted",
                   message=f"stage {stage}: {why}: rolling back from Freight {failed} to "
                           f"{target} (promotion {started.name})",
                   warn=True, about=("Stage", stage))  # fmt: skip
    return started.name


def _settle(store: Store, project: str, stage: str, phase: str) -> None:
    key = f"{project}/{stage}"
    found = runs.get_state(store, PENDING, key)
    if found is not None and found[0] == "Waiting":
        runs.put_state(store, PENDING, key, phase, found[1])


def retry_rollbacks(store: Store, now: dt.datetime | None = None) -> int:
    """Try again each rollback a window or a busy stage held back; the number started."""
    now = now or records.now()
    started = 0
    for key, phase, st in runs.states(store, PENDING):
        if phase != "Waiting":
            continue
        failed_at = gates.parse_time(st.get("failedAt")) or now
        if now - failed_at > MAX_FAILURE_AGE:
            runs.put_state(store, PENDING, key, "Expired", st)
            records.record(store, st["project"], st["failed"],
                           {"stage": st["stage"], "kind": "rollback", "phase": "Expired",
                            "message": st.get("reason", "")},
                           reason="RollbackExpired",
                           message=f"stage {st['stage']}: the rollback waited past "
                                   f"{int(MAX_FAILURE_AGE.total_seconds() // 60)} minutes "
                                   f"({st.get('reason', '')}); a person must decide",
                           warn=True, about=("Stage", st["stage"]))  # fmt: skip
            continue
        if _current(store, st["project"], st["stage"], st["failed"]) != st["failed"]:
            # a promotion that ran meanwhile replaced the failed Freight: nothing to undo
            runs.put_state(store, PENDING, key, "Superseded", st)
            records.record(store, st["project"], st["failed"],
                           {"stage": st["stage"], "kind": "rollback", "phase": "Superseded"},
                           reason="RollbackSuperseded",
                           message=f"stage {st['stage']} no longer runs Freight {st['failed']}: "
                                   "the waiting rollback is dropped",
                           about=("Stage", st["stage"]))  # fmt: skip
            continue
        if rollback(store, st["project"], st["stage"], st["failed"], st["why"],
                    failed_at=st.get("failedAt")):  # fmt: skip
            started += 1
    return started


def _current(store: Store, project: str, stage: str, failed: str) -> str:
    """The Freight the stage holds now for the failed Freight's origin ("" if none)."""
    res = store_resources.find(store, "Stage", stage, project)
    bad = store_resources.find(store, "Freight", failed, project)
    if res is None or bad is None:
        return ""
    origin = bad.body.get("origin") or {}
    key = f"{origin.get('kind', 'Warehouse')}/{origin.get('name', '')}"
    history = (res.status or {}).get("freightHistory") or []
    item = ((history[0].get("items") or {}).get(key) or {}) if history else {}
    return str(item.get("name") or "")


def _freights(store: Store, project: str) -> list[autopolicy.FreightInfo]:
    return [autopolicy.FreightInfo(f.name, f.body, f.status or {}, f.created or records.now())
            for f in store_resources.list_kind(store, "Freight", project)]  # fmt: skip


def auto_promote(store: Store) -> list[str]:
    """One auto-promotion pass over every project; the keys of the promotions it queued."""
    queued: list[str] = []
    now = records.now()
    for cfg_res in store_resources.list_kind(store, "ProjectConfig"):
        project = cfg_res.namespace
        try:
            cfg = start_mod.project_config(store, project)
        except ValueError:
            continue
        if not any(p.auto_promotion_enabled for p in cfg.promotion_policies):
            continue
        pool: list[autopolicy.FreightInfo] | None = None
        for stage in store_resources.list_kind(store, "Stage", project):
            policy = cfg.policy_for(stage.name, start_mod.labels(stage))
            if policy is None or not policy.auto_promotion_enabled:
                continue
            if start_mod.busy(store, project, stage.name):
                continue
            pool = pool if pool is not None else _freights(store, project)
            key = _auto_one(store, project, stage, pool, now)
            if key:
                queued.append(key)
                pool = None  # statuses changed
    return queued


def _auto_one(store: Store, project: str, stage: Any, pool: list[autopolicy.FreightInfo],
              now: Any) -> str | None:  # fmt: skip
    try:
        spec = kargo_stage.StageSpec.model_validate(stage.spec)
    except ValueError:
        return None
    if spec.is_control_flow:
        return None
    for choice in autopolicy.choose(stage.name, spec, stage.status or {}, pool, now):
        if choice.freight is None:
            continue
        try:
            started = start_mod.start(store, project=project, stage=stage.name,
                                      freight=choice.freight, actor=AUTO_ACTOR, auto=True,
                                      at=now)  # fmt: skip
        except ShipwayError as exc:
            log.debug("auto-promotion of %s to %s: %s", choice.freight, stage.name, exc)
            continue
        if choice.lifts_hold:
            records.lift_hold(store, project, stage.name, choice.origin)
        start_mod.queue(store, started.key)
        return started.key
    return None


def soak_pass(store: Store) -> int:
    """Write each soaking stage's ``status.soak`` (the Freight, the upstream stage, ``until``):
    the newest Freight verified upstream that has not soaked ``requiredSoakTime`` yet, so
    ``get stages -o wide`` shows the time left. Written only when it changes; the count."""
    now = records.now()
    written = 0
    for stage in store_resources.list_kind(store, "Stage"):
        reqs = [r for r in (stage.spec.get("requestedFreight") or [])
                if (r.get("sources") or {}).get("requiredSoakTime")]  # fmt: skip
        want: dict[str, Any] = {}
        if reqs:
            want = _soaking(store, stage, reqs, now)
        if (stage.status or {}).get("soak", {}) != want:

            def put(st: dict[str, Any], w: dict[str, Any] = want) -> dict[str, Any]:
                return {**st, "soak": w}

            records.update(store, "Stage", stage.name, stage.namespace, put)
            written += 1
    return written


def _soaking(store: Store, stage: Any, reqs: list[dict[str, Any]], now: Any) -> dict[str, Any]:
    freights = sorted(_freights(store, stage.namespace), key=lambda f: f.created, reverse=True)
    for req in reqs:
        spec = kargo_stage.FreightRequest.model_validate(req)
        origin = f"{spec.origin.kind}/{spec.origin.name}"
        for f in (f for f in freights if f.origin == origin):
            avail = gates.availability(spec, stage.name, f.status, now)
            if avail.ok:
                break
            if avail.soak_remaining > 0:
                until = now + dt.timedelta(seconds=avail.soak_remaining)
                return {"freight": f.name, "origin": origin, "until": records.iso(until),
                        "requiredSoakTime": spec.sources.required_soak_time}  # fmt: skip
    return {}


def tick(store: Store, settings: Settings, *, soak: bool = True) -> bool:
    """One pass of verification and auto-promotion (and of the soak display unless
    ``soak`` is false); whether promotions may have been queued (auto-promotions, or a
    verification ended: its rollback), so the controller wakes the promotion lane."""
    ended = verification.tick(store, settings)  # a failed one may have queued a rollback
    retried = retry_rollbacks(store)
    queued = bool(auto_promote(store)) or bool(ended) or bool(retried)
    if soak:
        soak_pass(store)
    stage_refresh.refresh(store)
    return queued


def resume(store: Store) -> int:
    """Follow up every ended promotion a killed process did not (at controller start)."""
    missed = [k for k, phase, s in runs.states(store, runner.ENGINE)
              if phase in ("Succeeded", "Failed", "Errored", "Aborted")
              and "actor" in s and not s.get("followed")]  # fmt: skip
    for key in missed:
        after_promotion(store, key)
    return len(missed)
