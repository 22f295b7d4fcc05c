"""Resource hooks, as Argo CD runs them: ``PreSync``, ``Sync``, ``PostSync``, ``SyncFail``.

A hook is a manifest annotated ``argocd.argoproj.io/hook`` (usually a Job or
a Pod). It is not part of the application's sync status; it runs in its
phase (sorted by wave, kind and name): created (after deleting a previous
run with ``BeforeHookCreation``, the default delete policy), then watched
until its health is Healthy (succeeded) or Degraded (failed), then deleted
when ``argocd.argoproj.io/hook-delete-policy`` says so (``HookSucceeded``,
``HookFailed``). A failed hook fails the sync; ``Skip`` hooks never run.
Talks to the target only through the ``Target`` interface.
"""

from __future__ import annotations

import os
import time
from typing import Any

from shipway.deploy import health, health_settings, render
from shipway.deploy import sync as syncmod
from shipway.deploy.compare import Ctx
from shipway.deploy.status import ResourceResult
from shipway.model.errors import ClusterError

DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
PHASES = ("PreSync", "Sync", "PostSync", "SyncFail")


def timeout() -> float:
    """Seconds a hook may take (``SHIPWAY_HOOK_TIMEOUT``, default 300)."""
    return float(os.environ.get("SHIPWAY_HOOK_TIMEOUT", "300"))


def is_hook(obj: dict[str, Any]) -> bool:
    return syncmod.hook_of(obj) is not None


def _policies(obj: dict[str, Any]) -> set[str]:
    raw = syncmod.annotations_of(obj).get(DELETE_POLICY, "BeforeHookCreation")
    return {p.strip() for p in raw.split(",") if p.strip()}


def run(ctx: Ctx, phase: str, hooks: list[dict[str, Any]]) -> list[ResourceResult]:
    """Run the hooks of ``phase`` one by one; stop at the first that fails."""
    out: list[ResourceResult] = []
    for hook in syncmod.hooks(hooks, phase):
        result = _run_one(ctx, phase, hook)
        out.append(result)
        if result.status != "Synced":
            break
    return out


def _run_one(ctx: Ctx, phase: str, hook: dict[str, Any]) -> ResourceResult:
    key = render.key_of(hook)
    version = str(hook.get("apiVersion", "")).rpartition("/")[2]
    policies = _policies(hook)
    ctx.emit({"reason": "HookStarted", "message": f"{phase} hook {key}", "object": key})
    try:
        if "BeforeHookCreation" in policies and key in ctx.target.live(ctx.name):
            ctx.target.delete(ctx.name, [hook])
        [applied] = ctx.target.apply(ctx.name, [hook], options=ctx.policy.options)
    except ClusterError as exc:
        return ResourceResult(key, version, "SyncFailed", str(exc), "failed", phase, "Failed")
    if applied.status != "Synced":
        return ResourceResult(
            key, version, "SyncFailed", applied.message, "failed", phase, "Failed"
        )
    outcome, message = _wait(ctx, key)
    if (outcome == "Succeeded" and "HookSucceeded" in policies) or (
        outcome == "Failed" and "HookFailed" in policies
    ):
        ctx.target.delete(ctx.name, [hook])
    ctx.emit(
        {
            "reason": f"Hook{outcome}",
            "message": f"{phase} hook {key}: {message}".rstrip(": "),
            "object": key,
        }
    )
    status = "Synced" if outcome == "Succeeded" else "SyncFailed"
    return ResourceResult(key, version, status, message, applied.action, phase, outcome)


def _wait(ctx: Ctx, key: str) -> tuple[str, str]:
    deadline = time.monotonic() + timeout()
    last = ("Running", "")
    while time.monotonic() < deadline:
        try:
            found = health.of(ctx.target.live(ctx.name).get(key), health_settings.load(ctx.store))
        except ClusterError as exc:
            return "Failed", str(exc)
        if found and found[0] == health.HEALTHY:
            return "Succeeded", found[1]
        if found and found[0] == health.DEGRADED:
            return "Failed", found[1] or "hook failed"
        last = ("Running", found[1] if found else "")
        time.sleep(0.3)
    return "Failed", f"hook did not finish within {timeout():.0f}s {last[1]}".strip()
