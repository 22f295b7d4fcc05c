"""Promotion actions for the REST API and the web UI, and what gates a Stage.

One implementation behind ``/api/v1/promotions/...`` and the Promotions page,
calling the same engine functions as the CLI: ``promote`` (``shipway promote``:
``promote.start`` with its gates, then the controller's promotion lane),
``approve`` (``shipway approve``: ``promote.approvals`` with the Stage's
approval policy), ``abort`` (``shipway promotion abort``:
``runner.request_abort``) and ``verify`` (``shipway stage verify``:
``verification.verify_stage``). Each is checked by RBAC first (``promotions``
with ``promote``, ``approve``, ``abort`` or ``verify`` on ``<project>/<stage>``)
and acts under the signed-in user. ``gates`` is a Stage's promotion window
(``ProjectConfig.promotionWindows``, as ``promote.start`` decides it) and the
promotion under way, for the page and the API. Touches the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shipway.auth.accounts import Identity
from shipway.auth.policy import Authorizer
from shipway.model.errors import InputError, NotFoundError
from shipway.promote import approvals, records, runner, verification
from shipway.promote import start as starter
from shipway.store import resources as store_resources
from shipway.store.db import Store


def promote(
    store: Store, rbac: Authorizer, who: Identity, project: str, stage: str, freight: str
) -> dict[str, Any]:
    rbac.require(who, "promotions", "promote", f"{project}/{stage}")
    started = starter.start(store, project=project, stage=stage, freight=freight, actor=who.name)
    starter.queue(store, started.key)
    return {"name": started.name, "project": project, "stage": stage,
            "freight": started.freight, "actor": who.name}  # fmt: skip


def approve(
    store: Store, rbac: Authorizer, who: Identity, project: str, stage: str, freight: str
) -> dict[str, Any]:
    rbac.require(who, "promotions", "approve", f"{project}/{stage}")
    got = approvals.approve(store, project, freight, stage, who.name)
    return {"freight": got.freight, "stage": got.stage, "approvals": got.given,
            "required": got.required, "approved": got.done, "approver": who.name}  # fmt: skip


def promotion_stage(store: Store, project: str, name: str) -> str:
    """The Stage a Promotion is for (``spec.stage``); ``NotFoundError`` when there is none."""
    res = store_resources.find(store, "Promotion", name, project)
    if res is None:
        raise NotFoundError(f"Promotion {name!r} not found in project {project!r}",
                            subject=f"Promotion/{project}/{name}")  # fmt: skip
    stage = str(res.spec.get("stage") or "")
    if not stage:
        raise InputError(f"Promotion {name} names no stage", subject=f"Promotion/{project}/{name}")
    return stage


def abort(store: Store, rbac: Authorizer, who: Identity, project: str, name: str) -> dict[str, Any]:
    stage = promotion_stage(store, project, name)
    rbac.require(who, "promotions", "abort", f"{project}/{stage}")
    phase = runner.request_abort(store, runner.key_of(project, name), who.name)
    return {"name": name, "project": project, "stage": stage, "phase": phase,
            "aborted": phase == "Aborted"}  # fmt: skip


def verify(
    store: Store, rbac: Authorizer, who: Identity, project: str, stage: str
) -> dict[str, Any]:
    rbac.require(who, "promotions", "verify", f"{project}/{stage}")
    key = verification.verify_stage(store, project, stage, actor=who.name)
    run = key.split("/", 1)[1] if key else ""
    return {"project": project, "stage": stage, "analysisRun": run, "started": bool(key)}


def gates(store: Store, project: str, stage: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """The Stage's promotion window (open or why not, and when it opens), its promotion
    under way, if any, and the Freight it waits on to soak upstream (``status.soak``, as
    the verification engine's soak pass writes it: which Freight, until when)."""
    res = store_resources.get(store, "Stage", stage, project)
    at = at or records.now()
    try:
        state = starter.window(store, project, res, at)
    except ValueError as exc:  # a ProjectConfig that no longer validates
        return {"window": {"open": False, "reason": str(exc), "nextOpen": "", "windows": []},
                "promotion": starter.busy(store, project, stage) or "",
                "soak": dict(res.status.get("soak") or {})}  # fmt: skip
    return {
        "window": {
            "open": state.open,
            "reason": state.reason,
            "nextOpen": records.iso(state.next_open) if state.next_open else "",
            "windows": list(state.windows),
        },
        "promotion": starter.busy(store, project, stage) or "",
        "soak": dict(res.status.get("soak") or {}),
    }
