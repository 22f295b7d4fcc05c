"""Running a sync's steps (one phase and wave each) against the target, as Argo CD does.

A step prunes its prune tasks first, then deletes the previous runs of its
hooks (``BeforeHookCreation``), then applies its resources and creates its
hooks in task order (consecutive resources with the same sync options in one
``apply`` call). Then it waits: always for its hooks to complete, and, in a
sync of several steps, for its resources to be Healthy (or to have no health
check) before the next step starts; a resource that turns Degraded, a hook
that fails, or ``SHIPWAY_HOOK_TIMEOUT`` seconds passing fails the sync.

Each task runs at most once per sync: its result is recorded by task id
(``phase:key``) and saved (``save``) before and after the target is
changed, so a resumed sync waits for a hook it already created instead of
creating it again. Talks to the target only through the ``Target`` interface.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shipway.deploy import health, health_settings
from shipway.deploy import hooks as hookmod
from shipway.deploy import sync as syncmod
from shipway.deploy.compare import Ctx
from shipway.deploy.hooks import FAILED, RUNNING, SUCCEEDED, result
from shipway.deploy.status import ResourceResult
from shipway.model.errors import ClusterError

POLL = 0.3
DONE = (SUCCEEDED, FAILED, "Error")


def failed(results: dict[str, ResourceResult]) -> bool:
    """True when any task failed to apply, or completed unsuccessfully."""
    return any(
        r.status == "SyncFailed" or r.hook_phase in (FAILED, "Error") for r in results.values()
    )


class Runner:
    """Runs steps, filling ``results`` (task id → result, in the order tasks ran)."""

    def __init__(
        self,
        ctx: Ctx,
        results: dict[str, ResourceResult],
        save: Callable[[], None],
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.results = results
        self.save = save
        self.on_wait = on_wait or (lambda _message: None)

    # -- one step -------------------------------------------------------------

    def done(self, task: syncmod.Task) -> bool:
        r = self.results.get(task.id)
        return r is not None and (r.hook_phase in DONE or r.status == "SyncFailed")

    def run(self, step: syncmod.Step, wait_resources: bool) -> None:
        """Run the tasks of ``step`` not yet run, then wait for what it must wait for."""
        pending = [t for t in step.tasks if t.id not in self.results]
        self._prune([t for t in pending if t.prune])
        if self._step_failed(step):
            return
        self._create([t for t in pending if not t.prune])
        if self._step_failed(step):
            return
        watch = [
            t
            for t in step.applies
            if not self.done(t) and (t.hook or wait_resources) and t.id in self.results
        ]
        if watch:
            self._wait(watch)

    def _step_failed(self, step: syncmod.Step) -> bool:
        return failed({t.id: self.results[t.id] for t in step.tasks if t.id in self.results})

    def _record(self, task: syncmod.Task, res: ResourceResult) -> None:
        self.results[task.id] = res
        ok = res.status != "SyncFailed"
        self.ctx.emit(
            {
                "reason": ("ResourceSynced" if ok else "ResourceFailed")
                if not task.prune
                else "ResourcePruned",
                "message": f"{task.key}: {res.action} {res.message}".strip(),
                "object": task.key,
            }
        )

    def _prune(self, tasks: list[syncmod.Task]) -> None:
        if not tasks:
            return
        try:
            done = {r.key: r for r in self.ctx.target.delete(self.ctx.name, [t.obj for t in tasks])}
        except ClusterError as exc:
            for t in tasks:
                self._record(t, result(t, "SyncFailed", str(exc), "failed", FAILED))
            self.save()
            return
        for t in tasks:
            r = done.get(t.key)
            if r is None or r.status == "SyncFailed":
                msg = r.message if r else "not deleted"
                self._record(t, result(t, "SyncFailed", msg, "failed", FAILED))
            else:
                self._record(t, result(t, r.status, r.message, r.action, SUCCEEDED))
        self.save()

    def _create(self, tasks: list[syncmod.Task]) -> None:
        """Apply resources and create hooks in order; resumed Running hooks already exist."""
        live = self._live() if any(t.hook for t in tasks) else {}
        resumed = [t for t in tasks if t.hook and t.id in self.results]
        fresh = [t for t in tasks if t.id not in self.results]
        refused = hookmod.delete_previous(self.ctx, [t for t in fresh if t.hook], live)
        if refused:
            self.results.update(refused)
            self.save()
            return
        for t in resumed:  # created before a restart: only re-create one that never appeared
            if t.key not in live and not self.done(t):
                self.results.pop(t.id)
                fresh.append(t)
        fresh.sort(key=syncmod.Task.sort_key)
        batch: list[syncmod.Task] = []
        for t in fresh:
            if not t.hook:
                if batch and self._options(batch[0]) != self._options(t):
                    self._apply(batch)
                    batch = []
                batch.append(t)
                continue
            if batch:
                self._apply(batch)
                batch = []
            made = f"{t.kind.lower()}/{t.name} created"
            self.results[t.id] = result(t, "Synced", made, "created", RUNNING)
            self.save()  # a restart now waits for this hook rather than creating it twice
            self._record(t, hookmod.create(self.ctx, t))
            self.save()
        if batch:
            self._apply(batch)

    def _options(self, task: syncmod.Task) -> frozenset[str]:
        return self.ctx.policy.options | frozenset(syncmod.sync_options(task.obj))

    def _apply(self, tasks: list[syncmod.Task]) -> None:
        try:
            applied = self.ctx.target.apply(
                self.ctx.name, [t.obj for t in tasks], options=self._options(tasks[0])
            )
        except ClusterError as exc:
            for t in tasks:
                self._record(t, result(t, "SyncFailed", str(exc), "failed", FAILED))
            self.save()
            return
        by_key = {r.key: r for r in applied}
        for t in tasks:
            r = by_key.get(t.key)
            if r is None:
                self._record(t, result(t, "SyncFailed", "not applied", "failed", FAILED))
            elif r.status == "Synced":
                self._record(t, result(t, "Synced", r.message, r.action, RUNNING))
            else:
                self._record(t, result(t, r.status, r.message, r.action, FAILED))
        self.save()

    # -- waiting --------------------------------------------------------------

    def _live(self) -> dict[str, Any]:
        try:
            return self.ctx.target.live(self.ctx.name)
        except ClusterError:
            return {}

    def _wait(self, tasks: list[syncmod.Task]) -> None:
        deadline = time.monotonic() + hookmod.timeout()
        pending = {t.id: t for t in tasks}
        custom = health_settings.load(self.ctx.store)
        self.on_wait(_waiting_message(list(pending.values())))
        while pending:
            try:
                live = self.ctx.target.live(self.ctx.name)
            except ClusterError as exc:
                for t in pending.values():
                    self._complete(t, FAILED, str(exc))
                return
            for t in list(pending.values()):
                judge = hookmod.outcome if t.hook else _resource_outcome
                phase, message = judge(live.get(t.key), custom)
                if phase != RUNNING:
                    self._complete(t, phase, message)
                    del pending[t.id]
            if pending and time.monotonic() >= deadline:
                for t in pending.values():
                    what = "complete" if t.hook else "become healthy"
                    self._complete(t, FAILED, f"did not {what} within {hookmod.timeout():.0f}s")
                return
            if pending:
                time.sleep(POLL)

    def _complete(self, task: syncmod.Task, phase: str, message: str) -> None:
        res = self.results[task.id]
        res.hook_phase = phase
        res.message = message or res.message
        self.save()  # before a HookSucceeded delete: a restart must not run it again
        if task.hook:
            hookmod.finished(self.ctx, task, res)
            self.save()
        elif phase == FAILED:
            self.ctx.emit(
                {
                    "reason": "ResourceDegraded",
                    "message": f"{task.key}: {message}",
                    "object": task.key,
                }
            )


def _resource_outcome(
    live: dict[str, Any] | None, custom: health.Customizations | None = None
) -> tuple[str, str]:
    """A resource's task phase after apply: Succeeded when Healthy or without a check."""
    if live is None:
        return RUNNING, "waiting for the object to appear"
    found = health.of(live, custom)
    if found is None:
        return SUCCEEDED, ""
    status, message = found
    if status == health.HEALTHY:
        return SUCCEEDED, message
    if status == health.DEGRADED:
        return FAILED, message or "degraded"
    return RUNNING, message


def _waiting_message(tasks: list[syncmod.Task]) -> str:
    """Argo CD's: ``waiting for completion of hook …`` / ``healthy state of …``."""
    first = tasks[0]
    what, more = (
        ("completion of hook", "hooks") if first.hook else ("healthy state of", "resources")
    )
    group = str(first.obj.get("apiVersion", "")).rpartition("/")[0]
    msg = f"waiting for {what} {group}/{first.kind}/{first.name}"
    return msg + (f" and {len(tasks) - 1} more {more}" if len(tasks) > 1 else "")
