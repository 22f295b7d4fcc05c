"""Starting a Promotion: the gates every promotion passes, then its Pending record.

``start(store, project=, stage=, freight=, actor=)`` is what ``shipway promote``,
auto-promotion and automatic rollback all call. It refuses (``ConflictError``,
with the reason and what remains) when:

- the stage already has a promotion that is not finished (one at a time);
- a promotion window closes the stage (``ProjectConfig.promotionWindows``);
- the Freight is not available to the stage: not approved for it and not
  verified (and soaked for ``requiredSoakTime``) upstream as its
  ``requestedFreight`` asks; the refusal says how much soak time is left.

A rollback (``rollback_of``: the Freight that failed) is a promotion of
Freight the stage has already verified: it skips the availability gate, since
it restores what was running before, but not the promotion windows: Kargo
gates every kind of promotion by them, rollbacks included (``lifecycle``
keeps a refused rollback waiting for the window to open). The Promotion is stored
with Kargo's ``kargo.akuity.io/create-actor`` annotation (and, for a rollback,
``kargo.akuity.io/rollback: "true"``), and shipway's
``shipway.dev/rollback-of`` / ``shipway.dev/auto-promotion`` when it is one;
the runner's record (``promote.runner``) carries the same. A manual
promotion to a stage with auto-promotion pins the origin (an
``autoPromotionHolds`` entry): auto-promotion then takes only Freight newer
than the pin. A verification still running for the stage is aborted: its
Freight is being replaced. The promotion is queued for the controller's
promotion lane (``inbox`` kind ``promotion``). Touches the store only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from shipway.model import kargo_project, kargo_stage
from shipway.model.errors import ConflictError, InputError, NotFoundError
from shipway.model.resources import Resource
from shipway.promote import gates, plan, records, runner
from shipway.promote import promotion as pm
from shipway.store import inbox, runs
from shipway.store import resources as store_resources
from shipway.store.db import Store

LANE = "promotion"
"""The inbox kind the controller's promotion lane takes (``controller.promotions.KIND``)."""
ACTOR = "kargo.akuity.io/create-actor"
ROLLBACK_OF = "shipway.dev/rollback-of"
AUTO = "shipway.dev/auto-promotion"
KARGO_ROLLBACK = "kargo.akuity.io/rollback"
"""Kargo marks a rollback Promotion ``kargo.akuity.io/rollback: "true"``; shipway does too."""


@dataclass
class Started:
    name: str
    key: str
    freight: str


def tasks(store: Store, project: str) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, ns in (("PromotionTask", project), ("ClusterPromotionTask", None)):
        try:
            found = store_resources.list_kind(store, kind, ns)
        except (KeyError, ValueError, InputError):
            continue
        for res in found:
            out[(kind, res.name)] = res.body.get("spec") or {}
    return out


def busy(store: Store, project: str, stage: str) -> str | None:
    """The name of the stage's unfinished promotion, if it has one."""
    for _key, phase, state in runs.states(store, runner.ENGINE):
        if phase in ("Pending", "Running") and state.get("project") == project \
                and state.get("stage") == stage:  # fmt: skip
            return str(state.get("name"))
    return None


def project_config(store: Store, project: str) -> kargo_project.ProjectConfigSpec:
    res = store_resources.find(store, "ProjectConfig", project, project)
    if res is None:
        proj = store_resources.find(store, "Project", project)
        policies = ((proj.body.get("spec") or {}).get("promotionPolicies") or []) if proj else []
        return kargo_project.ProjectConfigSpec.model_validate({"promotionPolicies": policies})
    return kargo_project.ProjectConfigSpec.model_validate(res.spec)


def labels(res: Resource) -> dict[str, str]:
    return dict((res.body.get("metadata") or {}).get("labels") or {})


def window(store: Store, project: str, stage: Resource, at: dt.datetime) -> gates.WindowState:
    cfg = project_config(store, project)
    return gates.window_state(cfg.promotion_windows, stage.name, labels(stage), at)


def request_for(spec: kargo_stage.StageSpec, freight: Resource) -> kargo_stage.FreightRequest:
    origin = freight.body.get("origin") or {}
    for req in spec.requested_freight:
        if req.origin.kind == origin.get("kind") and req.origin.name == origin.get("name"):
            return req
    raise InputError("does not request Freight from "
                     f"{origin.get('kind')}/{origin.get('name')}",
                     subject=f"Freight/{freight.namespace}/{freight.name}")  # fmt: skip


def gate(store: Store, project: str, stage: Resource, freight: Resource,
         at: dt.datetime) -> str | None:  # fmt: skip
    """Why ``freight`` may not be promoted to ``stage`` now (None: it may)."""
    spec = kargo_stage.StageSpec.model_validate(stage.spec)
    state = window(store, project, stage, at)
    if not state.open:
        return f"promotion window: {state.reason}"
    try:
        req = request_for(spec, freight)
    except InputError as exc:
        return f"stage {stage.name} {exc}"
    avail = gates.availability(req, stage.name, freight.status or {}, at)
    if not avail.ok:
        return f"Freight {freight.name} is not available to stage {stage.name}: {avail.reason}"
    return None


def start(
    store: Store,
    *,
    project: str,
    stage: str,
    freight: str,
    actor: str,
    auto: bool = False,
    rollback_of: str | None = None,
    at: dt.datetime | None = None,
) -> Started:
    at = at or records.now()
    stage_res = store_resources.get(store, "Stage", stage, project)
    found = pm.find_freight(store_resources.list_kind(store, "Freight", project), freight)
    if found is None:
        raise NotFoundError(f"Freight {freight!r} not found in project {project!r} (name or "
                            "alias)", subject=f"Freight/{project}/{freight}")  # fmt: skip
    subject = f"Stage/{project}/{stage}"
    running = busy(store, project, stage)
    if running:
        raise ConflictError(f"stage {stage} already has promotion {running} under way: wait "
                            "for it or abort it (shipway promotion abort)",
                            subject=subject)  # fmt: skip
    if rollback_of is None:
        why = gate(store, project, stage_res, found, at)
    else:
        state = window(store, project, stage_res, at)
        why = None if state.open else f"promotion window: {state.reason}"
    if why:
        raise ConflictError(f"refused: {why}", subject=subject)
    try:
        raw, vars_ = pm.template(stage_res.body)
        steps = plan.expand(raw, tasks(store, project))
    except ValueError as exc:
        raise InputError(str(exc), subject=subject) from None
    name = pm.promotion_name(stage, found.name)
    doc = pm.promotion_document(name, project, stage, found.name, steps, vars_)
    notes = {ACTOR: actor}
    if rollback_of:
        notes[ROLLBACK_OF] = rollback_of
        notes[KARGO_ROLLBACK] = "true"
    if auto:
        notes[AUTO] = "true"
    doc["metadata"]["annotations"] = notes
    store_resources.apply(store, [Resource(api_version=pm.API_VERSION, kind="Promotion",
                                           name=name, namespace=project, body=doc,
                                           source="shipway promote")])  # fmt: skip
    key = runner.create(store, project=project, name=name, stage=stage,
                        freight=pm.freight_data(found), steps=steps, vars=vars_,
                        collection=pm.collection(stage_res.status),
                        extra={"actor": actor, "rollbackOf": rollback_of or "",
                               "auto": auto})  # fmt: skip
    if not auto and not rollback_of:
        _pin(store, project, stage_res, found, name, actor)
    from shipway.promote import verification

    verification.abort_stage(store, project, stage, f"replaced by promotion {name}")
    records.record(store, project, found.name,
                   {"stage": stage, "kind": "promotion", "name": name, "phase": "Pending",
                    "actor": actor, "rollbackOf": rollback_of or "", "auto": auto},
                   reason="PromotionCreated",
                   message=f"{'rollback ' if rollback_of else ''}promotion {name} of Freight "
                           f"{found.name} to stage {stage} by {actor}",
                   about=("Promotion", name))  # fmt: skip
    return Started(name, key, found.name)


def queue(store: Store, key: str) -> None:
    """Hand the promotion to the controller's promotion lane."""
    inbox.put(store, LANE, {"key": key})


def _pin(store: Store, project: str, stage: Resource, freight: Resource, promotion: str,
         actor: str) -> None:  # fmt: skip
    policy = project_config(store, project).policy_for(stage.name, labels(stage))
    if policy is None or not policy.auto_promotion_enabled:
        return
    records.set_hold(store, project, stage.name, dict(freight.body.get("origin") or {}),
                     freight.name, "Manual", promotion, actor)  # fmt: skip
