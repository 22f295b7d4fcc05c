"""PreDelete and PostDelete hooks, run by ``app delete`` as Argo CD runs them.

``history.delete_app`` renders the application at its target revision and,
before deleting anything, runs its ``PreDelete`` hooks (``argocd.argoproj.io/hook:
PreDelete``, or Helm's ``pre-delete``) wave by wave: each wave's hooks are
created (a previous copy deleted first under ``BeforeHookCreation``) and
waited for like sync hooks (``hooks.outcome``: Healthy is Succeeded,
Degraded is Failed, ``SHIPWAY_HOOK_TIMEOUT`` seconds at most). A failed hook
stops there: ``run`` returns its result with ``hook_phase`` Failed and the
caller keeps the application and all its resources, naming the hook. After
the resources are deleted the ``PostDelete`` hooks run the same way; then
the hooks that succeeded are deleted (a failed one is kept to be inspected,
and the Application with it). ``generateName`` hooks get a name as sync
hooks do. Talks to the target only through the ``Target`` interface.
"""

from __future__ import annotations

import time
from itertools import groupby
from typing import Any

from shipway.deploy import health_settings
from shipway.deploy import hooks as hookmod
from shipway.deploy import sync as syncmod
from shipway.deploy.compare import Ctx
from shipway.deploy.status import ResourceResult
from shipway.deploy.sync import markers
from shipway.deploy.sync.tasks import Task, hook_name
from shipway.model.errors import ClusterError

PRE_DELETE, POST_DELETE = markers.PRE_DELETE, markers.POST_DELETE
POLL = 0.5


def of_phase(hooks: list[dict[str, Any]], *phases: str) -> list[dict[str, Any]]:
    """The rendered hooks that run in one of ``phases`` (PreDelete, PostDelete)."""
    return [h for h in hooks if set(phases) & set(syncmod.hook_types(h))]


def _tasks(hooks: list[dict[str, Any]], phase: str, revision: str) -> list[Task]:
    started = int(time.time())
    out = []
    for hook in hooks:
        obj = {**hook, "metadata": dict(hook.get("metadata") or {})}
        if not obj["metadata"].get("name"):
            obj["metadata"]["name"] = hook_name(hook, phase, revision, started)
            obj["metadata"].pop("generateName", None)
        out.append(Task(phase, markers.wave_of(hook), obj, hook=True))
    return sorted(out, key=lambda t: (t.wave, syncmod.sort_key(t.obj)))


def run(ctx: Ctx, hooks: list[dict[str, Any]], phase: str, revision: str) -> list[ResourceResult]:
    """Run ``phase``'s hooks wave by wave; stop at the first wave with a failed hook."""
    results: list[ResourceResult] = []
    custom = health_settings.load(ctx.store)
    for _, wave in groupby(_tasks(of_phase(hooks, phase), phase, revision), key=lambda t: t.wave):
        tasks = list(wave)
        live = ctx.target.live(ctx.name)
        failed = hookmod.delete_previous(ctx, tasks, live)
        created = {t.id: failed.get(t.id) or hookmod.create(ctx, t) for t in tasks}
        results += created.values()
        pending = [t for t in tasks if created[t.id].hook_phase == hookmod.RUNNING]
        deadline = time.monotonic() + hookmod.timeout()
        while pending:
            try:
                live = ctx.target.live(ctx.name)
            except ClusterError as exc:
                live = {}
                message = str(exc)
            else:
                message = ""
            for t in list(pending):
                state, why = (
                    hookmod.outcome(live.get(t.key), custom) if live else (hookmod.RUNNING, "")
                )
                if state == hookmod.RUNNING and time.monotonic() >= deadline:
                    state = hookmod.FAILED
                    why = message or f"did not complete within {hookmod.timeout():.0f}s"
                if state != hookmod.RUNNING:
                    res = created[t.id]
                    res.hook_phase, res.message = state, why or res.message
                    hookmod.finished(ctx, t, res)
                    pending.remove(t)
            if pending:
                time.sleep(POLL)
        if any(r.hook_phase == hookmod.FAILED for r in created.values()):
            break
    return results


def failure(results: list[ResourceResult]) -> ResourceResult | None:
    return next((r for r in results if r.hook_phase == hookmod.FAILED), None)


def clean_up(ctx: Ctx, hooks: list[dict[str, Any]], results: list[ResourceResult]) -> None:
    """Delete the delete hooks that succeeded (PostDelete ones outlive the app's resources)."""
    done = {r.key for r in results if r.hook_phase == hookmod.SUCCEEDED}
    live = ctx.target.live(ctx.name)
    left = [o for k, o in live.items() if k in done]
    if left:
        ctx.target.delete(ctx.name, left)
