"""Resource hooks, as Argo CD runs them: create, watch, delete by policy.

A hook is a manifest annotated ``argocd.argoproj.io/hook`` or ``helm.sh/hook``
(usually a Job or a Pod; see ``shipway.deploy.sync.markers``). It is
not part of the application's sync status. It runs as a task of its phase
and wave (``shipway.deploy.steps`` runs the steps): a previous run is deleted
first when its delete policies hold ``BeforeHookCreation`` (the default),
then it is created once, then watched until its health says it completed:
Healthy → ``Succeeded``; Degraded or Unknown → ``Failed``; a kind without a
health check succeeds once created. Then it is deleted when
``argocd.argoproj.io/hook-delete-policy`` says so (``HookSucceeded``,
``HookFailed``). A failed hook fails the sync. Talks to the target only
through the ``Target`` interface.
"""

from __future__ import annotations

import os
from typing import Any

from shipway import cluster
from shipway.deploy import health, render
from shipway.deploy import sync as syncmod
from shipway.deploy.compare import Ctx
from shipway.deploy.status import ResourceResult
from shipway.deploy.sync import markers as ann
from shipway.model.errors import ClusterError

DELETE_POLICY = ann.DELETE_POLICY_ANNOTATION
PHASES = ann.SYNC_PHASES
RUNNING, SUCCEEDED, FAILED = "Running", "Succeeded", "Failed"


def timeout() -> float:
    """Seconds a hook (or a wave's resources) may take (``SHIPWAY_HOOK_TIMEOUT``, default 300)."""
    return float(os.environ.get("SHIPWAY_HOOK_TIMEOUT", "300"))


def is_hook(obj: dict[str, Any]) -> bool:
    return syncmod.is_hook(obj)


def result(
    task: syncmod.Task, status: str, message: str, action: str, hook_phase: str
) -> ResourceResult:
    """The result entry of ``task`` (Argo CD's fields, with the task's phase and wave)."""
    version = str(task.obj.get("apiVersion", "")).rpartition("/")[2]
    return ResourceResult(
        task.key,
        version,
        status,
        message,
        action,
        task.phase,
        hook_phase,
        task.hook_type,
        task.wave,
    )


def retracked(app: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The hook with its tracking annotation naming its resolved name (``generateName``)."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if cluster.TRACKING_ANNOTATION not in annotations:
        return obj
    group, kind, ns, name = render.key_of(obj).split("/", 3)
    annotations[cluster.TRACKING_ANNOTATION] = f"{app}:{group}/{kind}:{ns}/{name}"
    return obj


def delete_previous(
    ctx: Ctx, tasks: list[syncmod.Task], live: dict[str, Any]
) -> dict[str, ResourceResult]:
    """Delete the live copies of hooks whose policies hold ``BeforeHookCreation``.

    Returns the failures by task id (a hook that cannot be deleted is not created).
    """
    old = [
        t
        for t in tasks
        if t.key in live and ann.BEFORE_HOOK_CREATION in syncmod.delete_policies(t.obj)
    ]
    if not old:
        return {}
    try:
        ctx.target.delete(ctx.name, [t.obj for t in old])
    except ClusterError as exc:
        return {t.id: result(t, "SyncFailed", str(exc), "failed", FAILED) for t in old}
    return {}


def create(ctx: Ctx, task: syncmod.Task) -> ResourceResult:
    """Create the hook of ``task``: its result is ``Running`` (or a failure to create it)."""
    ctx.emit(
        {"reason": "HookStarted", "message": f"{task.phase} hook {task.key}", "object": task.key}
    )
    try:
        [applied] = ctx.target.apply(
            ctx.name, [retracked(ctx.name, task.obj)], options=ctx.policy.options
        )
    except ClusterError as exc:
        return result(task, "SyncFailed", str(exc), "failed", FAILED)
    if applied.status != "Synced":
        return result(task, "SyncFailed", applied.message, "failed", FAILED)
    return result(task, "Synced", applied.message, applied.action, RUNNING)


def outcome(
    live: dict[str, Any] | None, custom: health.Customizations | None = None
) -> tuple[str, str]:
    """A hook's phase from its live object: Running, Succeeded or Failed, and why."""
    if live is None:
        return RUNNING, "waiting for the hook to appear"
    found = health.of(live, custom)
    if found is None:
        return SUCCEEDED, f"{(live.get('metadata') or {}).get('name')} created"
    status, message = found
    if status == health.HEALTHY:
        return SUCCEEDED, message
    if status in (health.DEGRADED, health.UNKNOWN):
        return FAILED, message or "hook failed"
    return RUNNING, message


def finished(ctx: Ctx, task: syncmod.Task, res: ResourceResult) -> None:
    """Report a completed hook, then delete it if its policies say so."""
    ctx.emit(
        {
            "reason": f"Hook{res.hook_phase}",
            "message": f"{task.phase} hook {task.key}: {res.message}".rstrip(": "),
            "object": task.key,
        }
    )
    policies = syncmod.delete_policies(task.obj)
    if (res.hook_phase == SUCCEEDED and ann.HOOK_SUCCEEDED in policies) or (
        res.hook_phase == FAILED and ann.HOOK_FAILED in policies
    ):
        try:
            ctx.target.delete(ctx.name, [task.obj])
        except ClusterError as exc:
            res.message = f"{res.message}; cannot delete the hook: {exc}".lstrip("; ")
