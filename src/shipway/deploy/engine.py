"""The reconciler's engine: sync (hooks, waves, prune, retry), refresh, health, self-heal.

The controller and the CLI call:

- ``reconcile(store, app, *, revision, prune, dry_run, on_event)`` → ``SyncResult``
- ``refresh(store, app)`` → ``AppStatus`` (render + diff + health, nothing applied)
- ``refresh_all(store, names=None)`` → ``{app: AppStatus}`` (``bulk``: one fetch per
  repository, only apps whose inputs or live state changed are compared again)
- ``wait_healthy(store, app, timeout)`` → the health status name
- ``self_heal_pass(store)`` → the ``SyncResult`` of every automated sync it ran
- ``resume_interrupted(store)`` → finishes syncs a killed process left running

History, rollback and deletion are in ``shipway.deploy.history``; comparing
(render, diff, health, status) in ``shipway.deploy.compare``. Syncs of one
application never overlap in a process (``app_lock``).

A sync runs the steps of ``shipway.deploy.sync.plan`` (phase by phase, wave
by wave, hooks among them) with ``shipway.deploy.steps``; ``SyncFail`` hooks
run when it fails. It is a state machine persisted with
``store.runs.put_state`` under the engine name ``deploy.sync`` and the
application's name: ``Running`` (with the step reached and every task's
result so far) → ``Succeeded`` | ``Failed``. A process killed mid-sync leaves
``Running``; ``resume_interrupted`` continues it with the same task names
(``generateName`` hooks included): tasks with a result are not run again, a
hook it had created is waited for. Status is written to
the Application in Argo CD's shape through ``store.resources.set_status``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from typing import Any

from shipway.deploy import appspec, digest_pins, health, health_settings, policy_gate, render, steps
from shipway.deploy import compare as cmp
from shipway.deploy import diff as diffmod
from shipway.deploy import hooks as hookmod
from shipway.deploy import status as st
from shipway.deploy import sync as syncmod
from shipway.deploy.bulk import refresh_all
from shipway.deploy.compare import EventSink, local_target
from shipway.deploy.status import AppStatus, ResourceResult, SyncResult
from shipway.model.errors import ClusterError, NotFoundError
from shipway.model.namespaces import app_key, instance
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

ENGINE = "deploy.sync"
__all__ = [
    "local_target",
    "reconcile",
    "refresh",
    "refresh_all",
    "resume_interrupted",
    "self_heal_pass",
    "wait_healthy",
]


def refresh(
    store: Store, app_name: str, *, settings: Settings | None = None, fetch: bool = True
) -> AppStatus:
    """Render and compare with live state, write the status; apply nothing.

    ``fetch=False`` reuses what this process last fetched of the config repo
    (a pass over many applications fetches each repository once).
    """
    ctx = cmp.context(store, app_name, settings, None, fetch=fetch)
    pin = (ctx.old_status.get("pin") or {}).get("revision")
    result, _ = cmp.compare(ctx, pin)
    cmp.write_status(ctx, st.comparison_status(ctx.old_status, result))
    return result


# -- sync ------------------------------------------------------------------


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def app_lock(app_name: str) -> threading.Lock:
    """The lock one process holds while it syncs ``app_name`` (syncs of one app never overlap)."""
    with _locks_guard:
        return _locks.setdefault(app_name, threading.Lock())


def reconcile(
    store: Store,
    app_name: str,
    *,
    revision: str | None = None,
    prune: bool | None = None,
    dry_run: bool = False,
    on_event: EventSink | None = None,
    unpin: bool = False,
    settings: Settings | None = None,
) -> SyncResult:
    """Sync one application to ``revision`` (default: its pin, else ``targetRevision``).

    ``prune`` defaults to the automated policy's ``prune``. ``unpin`` drops a
    rollback pin first (an explicit ``shipway app sync``).
    """
    with app_lock(app_key(app_name)):  # "dev/web" and "dev_web" are one app
        return _reconcile(store, app_name, revision, prune, dry_run, on_event, unpin, settings)


def _reconcile(
    store: Store,
    app_name: str,
    revision: str | None,
    prune: bool | None,
    dry_run: bool,
    on_event: EventSink | None,
    unpin: bool,
    settings: Settings | None,
) -> SyncResult:
    ctx = cmp.context(store, app_name, settings, on_event)
    if unpin and ctx.old_status.get("pin"):
        ctx.old_status.pop("pin")
        ctx.emit({"reason": "Unpinned", "message": "following targetRevision again"})
    if revision is None:
        revision = (ctx.old_status.get("pin") or {}).get("revision")
    do_prune = ctx.policy.prune if prune is None else prune
    res = _sync(ctx, revision, do_prune, dry_run, resume=None)
    pol = ctx.policy
    while res.phase == "Failed" and not dry_run and res.retries < pol.retry_limit:
        attempt = res.retries + 1
        delay = pol.backoff(attempt)
        ctx.emit(
            {
                "reason": "SyncRetry",
                "message": f"retry {attempt}/{pol.retry_limit} in {delay:.1f}s: {res.message}",
            }
        )
        time.sleep(delay)
        res = _sync(ctx, revision, do_prune, dry_run, resume=None)
        res.retries = attempt
    return res


def _sync(
    ctx: cmp.Ctx,
    revision: str | None,
    prune: bool,
    dry_run: bool,
    resume: dict[str, Any] | None,
) -> SyncResult:
    started = (resume or {}).get("startedAt") or st.now()
    ctx.emit({"reason": "OperationStarted", "message": f"sync to {revision or 'target revision'}"})
    cmp_result, _ = cmp.compare(ctx, revision)
    res = SyncResult(ctx.name, "Running", cmp_result.revision, "", started_at=started)
    res.dry_run = dry_run
    if cmp_result.errors:  # an ImageDigestWarning (a registry down) does not stop a sync
        return _finish(ctx, res, cmp_result, "Error", cmp_result.error, prune)
    if resume is None:  # a resumed sync passed its gates when it started
        gate = _gate(ctx, cmp_result)
        res.policy = gate.summary()
        if gate.refusal:
            return _finish(ctx, res, cmp_result, "Failed", f"refused by policy: {gate.refusal}",
                           prune)  # fmt: skip
        _pin(ctx, cmp_result, digest_pins.from_gate(gate.images), record=not dry_run)
    plan = syncmod.plan(
        cmp_result.diffs,
        cmp_result.hooks,
        prune=prune,
        apply_out_of_sync_only=ctx.policy.option("ApplyOutOfSyncOnly"),
        prune_last=ctx.policy.option("PruneLast"),
        revision=res.revision,
        started=_epoch(started),
    )
    if dry_run:
        res.resources = [_dry(t) for t in plan.tasks + plan.sync_fail] + _skipped(plan)
        res.phase, res.message = "Succeeded", "dry run: nothing applied"
        res.sync_status, res.health = cmp_result.sync_status, cmp_result.health
        return res
    state = resume or {
        "id": uuid.uuid4().hex[:12],
        "revision": res.revision,
        "prune": prune,
        "startedAt": started,
        "wave": 0,
        "results": [],
    }
    results = {r.task_id: r for r in (ResourceResult(**d) for d in state["results"])}

    def save() -> None:
        state["results"] = [vars(r) for r in results.values()]
        _put(ctx, "Running", state)

    def waiting(message: str) -> None:
        ctx.emit({"reason": "SyncWaiting", "message": message})
        op = st.operation_state(res, prune, cmp_result.source)
        cmp.write_status(ctx, {**ctx.old_status, "operationState": op | {"message": message}})

    save()
    res.resources = list(results.values())
    cmp.write_status(
        ctx,
        {
            **ctx.old_status,
            "operationState": st.operation_state(res, prune, cmp_result.source)
            | {"phase": "Running"},
        },
    )
    runner = steps.Runner(ctx, results, save, waiting)
    all_steps = plan.steps()
    for i, step in enumerate(all_steps):
        if steps.failed(results):
            break
        if all(runner.done(t) for t in step.tasks):
            continue
        state["wave"] = i
        ctx.emit(
            {
                "reason": "SyncWave",
                "message": f"wave {step.wave} of {step.phase}: {len(step.tasks)} tasks",
            }
        )
        runner.run(step, plan.waits_for_health(step, i == len(all_steps) - 1))
        state["wave"] = i + 1
        save()
    failed = steps.failed(results)
    if failed and plan.sync_fail:
        ctx.emit({"reason": "SyncWave", "message": "sync failed: running SyncFail hooks"})
        runner.run(syncmod.Step("SyncFail", 0, plan.sync_fail), wait_resources=False)
    res.resources = list(results.values()) + _skipped(plan)
    after, _ = cmp.compare(ctx, res.revision)
    phase = "Failed" if failed else "Succeeded"
    return _finish(ctx, res, after, phase, _summary(res.resources, failed), prune, state)


def _gate(ctx: cmp.Ctx, cmp_result: Any) -> policy_gate.GateResult:
    """Image and manifest policies over what this sync would apply; warnings as events."""
    objects = list(cmp_result.written) + list(cmp_result.written_hooks)  # as git says
    annotations = dict((ctx.body.get("metadata") or {}).get("annotations") or {})
    gate = policy_gate.check(
        ctx.store, ctx.settings, objects, appspec.namespace(ctx.spec), annotations
    )
    for warning in gate.warnings:
        ctx.emit({"reason": "PolicyWarning", "message": warning, "type": "Warning"})
    return gate


def _pin(ctx: cmp.Ctx, cmp_result: AppStatus, pins: dict[str, str], *, record: bool) -> None:
    """What the sync applies: git's objects with the gate's ``mutateDigest`` pins.

    An object the pins change is OutOfSync whatever the comparison said (its live
    image is the tag, or an older digest). ``record`` keeps the pins in the status,
    so the comparisons after the sync recognise them.
    """
    written = {render.key_of(o): o for o in cmp_result.written}
    for d in cmp_result.diffs:
        raw = written.get(d.key)
        if d.desired is None or raw is None:
            continue
        pinned = digest_pins.repin(d.desired, raw, pins)
        if pinned is not d.desired:
            d.status, d.desired = diffmod.OUT_OF_SYNC, pinned
    cmp_result.hooks = digest_pins.apply(cmp_result.written_hooks, pins)
    if record and pins:
        ctx.old_status[digest_pins.RECORD] = digest_pins.record_of(pins)
        if ctx.digests is not None:  # the comparison after the sync asks no registry again
            ctx.digests.learn(pins)
    elif record:
        ctx.old_status.pop(digest_pins.RECORD, None)


def _epoch(started: str) -> int:
    """Unix seconds of an operation's ``startedAt`` (names ``generateName`` hooks)."""
    try:
        return int(
            dt.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
        )
    except ValueError:
        return 0


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[2]


def _dry(task: syncmod.Task) -> ResourceResult:
    status, action = ("Pruned", "deleted") if task.prune else ("Synced", "dry-run")
    message = "(dry run)" if task.phase != "SyncFail" else "(dry run) runs if the sync fails"
    return hookmod.result(task, status, message, action, hookmod.SUCCEEDED)


def _skipped(plan: syncmod.Plan) -> list[ResourceResult]:
    return [
        ResourceResult(
            render.key_of(o),
            _version(o),
            "PruneSkipped",
            "ignored (no prune)"
            if "Prune=false" in syncmod.sync_options(o)
            else "ignored (requires pruning)",
            hook_phase=hookmod.SUCCEEDED,
            sync_wave=syncmod.wave_of(o),
        )
        for o in plan.skipped_prune
    ]


def _summary(done: list[ResourceResult], failed: bool) -> str:
    if failed:
        bad = [
            f"{r.key}: {r.message}"
            for r in done
            if r.status == "SyncFailed" or r.hook_phase in (hookmod.FAILED, "Error")
        ]
        what = "one or more synchronization tasks completed unsuccessfully"
        if any(r.status == "SyncFailed" for r in done):
            what = "one or more objects failed to apply"
        return f"{what}: " + "; ".join(bad)
    return f"successfully synced (all {len(done)} tasks run)"


def _put(ctx: cmp.Ctx, phase: str, state: dict[str, Any]) -> None:
    runs.put_state(ctx.store, ENGINE, ctx.name, phase, state)


def _finish(
    ctx: cmp.Ctx,
    res: SyncResult,
    after: AppStatus,
    phase: str,
    message: str,
    prune: bool,
    state: dict[str, Any] | None = None,
) -> SyncResult:
    res.phase, res.message, res.finished_at = phase, message, st.now()
    res.sync_status, res.health = after.sync_status, after.health
    status = st.comparison_status(ctx.old_status, after)
    if phase == "Succeeded":
        status["history"], res.history_id = st.add_history(
            list(status.get("history") or []),
            res.revision,
            res.started_at,
            after.source,
            appspec.history_limit(ctx.spec),
        )
    status["operationState"] = st.operation_state(res, prune, after.source)
    cmp.write_status(ctx, status)
    if state is not None:
        _put(ctx, phase, state)
    ctx.emit({"reason": "OperationCompleted", "message": f"{phase}: {message}", "phase": phase})
    return res


def resume_interrupted(store: Store, *, settings: Settings | None = None) -> list[SyncResult]:
    """Continue every sync a killed process left ``Running`` (or fail it if the app is gone)."""
    out = []
    for name, phase, state in runs.states(store, ENGINE):
        if phase != "Running":
            continue
        try:
            ctx = cmp.context(store, name, settings, None)
        except NotFoundError:
            runs.put_state(store, ENGINE, name, "Failed", {**state, "error": "application deleted"})
            continue
        out.append(_sync(ctx, state["revision"], bool(state["prune"]), False, resume=state))
    return out


# -- health, self-heal, rollback, delete -----------------------------------


def wait_healthy(
    store: Store,
    app_name: str,
    timeout: float,
    *,
    settings: Settings | None = None,
    interval: float = 0.5,
) -> str:
    """Poll live health until Healthy or Degraded, or ``timeout`` seconds; return the last."""
    ctx = cmp.context(store, app_name, settings, None)
    deadline = time.monotonic() + timeout
    last = health.UNKNOWN
    while True:
        last = _live_health(ctx)
        if last in (health.HEALTHY, health.DEGRADED) or time.monotonic() >= deadline:
            status = dict(ctx.old_status)
            status["health"] = {"status": last}
            cmp.write_status(ctx, status)
            return last
        time.sleep(interval)


def _live_health(ctx: cmp.Ctx) -> str:
    keys = [
        "/".join((r["group"], r["kind"], r["namespace"], r["name"]))
        for r in ctx.old_status.get("resources") or []
        if not r.get("requiresPruning")
    ]
    try:
        live = ctx.target.live(ctx.name)
    except ClusterError:
        return health.UNKNOWN
    custom = health_settings.load(ctx.store)
    found = [health.of(live.get(k), custom) for k in keys]
    return health.aggregate(h[0] if h else None for h in found)


def self_heal_pass(store: Store, *, settings: Settings | None = None) -> list[SyncResult]:
    """Sync each automated app that is out of sync (a new revision, or drift with selfHeal)."""
    out: list[SyncResult] = []
    apps = [
        a
        for a in store_resources.list_kind(store, "Application")
        if appspec.policy(a.spec).automated
    ]
    compared = refresh_all(store, [instance(a.namespace, a.name) for a in apps], settings=settings)
    for app in apps:
        pol = appspec.policy(app.spec)
        key = instance(app.namespace, app.name)  # web; dev_web outside argocd
        cmp_result = compared.get(key)
        if cmp_result is None or app_lock(key).locked():  # being synced right now
            continue
        if cmp_result.errors:
            out.append(SyncResult(key, "Error", cmp_result.revision, cmp_result.error))
            continue
        if cmp_result.sync_status != diffmod.OUT_OF_SYNC:
            continue
        synced = str(
            ((app.status.get("operationState") or {}).get("syncResult") or {}).get("revision", "")
        )
        if cmp_result.revision == synced and not pol.self_heal:
            continue
        empty = all(d.desired is None for d in cmp_result.diffs)
        if empty and not pol.allow_empty:
            continue
        out.append(reconcile(store, key, settings=settings))
    return out
