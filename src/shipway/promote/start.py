"""Starting a promotion of Freight to a Stage, and approving Freight for a Stage.

``start``: the Promotion made from the Stage's ``promotionTemplate`` (its tasks
inlined, named as Kargo names it) is stored and recorded Pending for the runner
(``shipway.promote.runner``); the caller runs it or hands it to the controller's
promotion lane. ``shipway promote`` and the web UI both start promotions here.
``approve``: Kargo's manual approval, the Freight's ``status.approvedFor[stage]``
(with who approved and when). Touches the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from shipway.model.errors import InputError, NotFoundError
from shipway.model.resources import Resource
from shipway.promote import plan, runner
from shipway.promote import promotion as pm
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store


@dataclass(frozen=True)
class Started:
    name: str  # the Promotion's name
    key: str  # the runner's key


def tasks(store: Store, project: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The project's PromotionTasks and the ClusterPromotionTasks, by (kind, name)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, ns in (("PromotionTask", project), ("ClusterPromotionTask", None)):
        try:
            found = store_resources.list_kind(store, kind, ns)
        except (KeyError, ValueError, InputError):
            continue
        for res in found:
            out[(kind, res.name)] = res.body.get("spec") or {}
    return out


def find_freight(store: Store, project: str, wanted: str) -> Resource:
    freight = pm.find_freight(store_resources.list_kind(store, "Freight", project), wanted)
    if freight is None:
        raise NotFoundError(
            f"Freight {wanted!r} not found in project {project!r} (name or alias)",
            subject=f"Freight/{project}/{wanted}",
        )
    assert isinstance(freight, Resource)
    return freight


def start(
    store: Store, project: str, stage: str, freight_ref: str, *, source: str = "shipway promote"
) -> Started:
    """Store the Promotion of ``freight_ref`` (name or alias) to ``stage``; Pending."""
    stage_res = store_resources.get(store, "Stage", stage, project)
    freight = find_freight(store, project, freight_ref)
    try:
        raw, vars_ = pm.template(stage_res.body)
        steps = plan.expand(raw, tasks(store, project))  # a Promotion holds its tasks inlined
    except ValueError as exc:
        raise InputError(str(exc), subject=f"Stage/{project}/{stage}") from None
    name = pm.promotion_name(stage, freight.name)
    doc = pm.promotion_document(name, project, stage, freight.name, steps, vars_)
    store_resources.apply(
        store,
        [
            Resource(
                api_version=pm.API_VERSION,
                kind="Promotion",
                name=name,
                namespace=project,
                body=doc,
                source=source,
            )
        ],
    )
    key = runner.create(
        store,
        project=project,
        name=name,
        stage=stage,
        freight=pm.freight_data(freight),
        steps=steps,
        vars=vars_,
        collection=pm.collection(stage_res.status),
    )
    return Started(name, key)


def approve(store: Store, project: str, stage: str, freight_ref: str, who: str) -> Resource:
    """Approve the Freight for ``stage`` (``status.approvedFor``), recorded under ``who``."""
    store_resources.get(store, "Stage", stage, project)  # the Stage must exist
    freight = find_freight(store, project, freight_ref)
    status = dict(freight.status)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status["approvedFor"] = {
        **(status.get("approvedFor") or {}),
        stage: {"approvedAt": at, "approvedBy": who},
    }
    store_resources.set_status(store, "Freight", freight.name, status, project)
    runs.record_event(
        store,
        "promotions",
        f"Freight/{freight.name}",
        "FreightApproved",
        f"approved for stage {stage} by {who}",
    )
    return store_resources.get(store, "Freight", freight.name, project)
