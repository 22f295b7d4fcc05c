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

A sync is a state machine persisted with ``store.runs.put_state`` under the
engine name ``deploy.sync`` and the application's name: ``Running`` (with the
next wave to apply and the results so far) → ``Succeeded`` | ``Failed``. A
process killed mid-sync leaves ``Running``; ``resume_interrupted`` continues
it from the wave it had reached (apply is idempotent). Status is written to
the Application in Argo CD's shape through ``store.resources.set_status``.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from shipway.deploy import appspec, health, render
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
    if cmp_result.conditions:
        return _finish(ctx, res, cmp_result, "Error", cmp_result.error, prune)
    plan = syncmod.plan(
        cmp_result.diffs,
        prune=prune,
        apply_out_of_sync_only=ctx.policy.option("ApplyOutOfSyncOnly"),
    )
    if dry_run:
        res.resources = [
            ResourceResult(render.key_of(o), _version(o), "Synced", "(dry run)", "dry-run")
            for _, objs in plan.waves
            for o in objs
        ] + [
            ResourceResult(render.key_of(o), _version(o), "Pruned", "(dry run)") for o in plan.prune
        ]
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
    done = [ResourceResult(**r) for r in state["results"]]
    _put(ctx, "Running", state)
    cmp.write_status(
        ctx,
        {
            **ctx.old_status,
            "operationState": st.operation_state(res, prune, cmp_result.source)
            | {"phase": "Running"},
        },
    )
    hooks = cmp_result.hooks
    if not state.get("preSyncDone"):
        done += hookmod.run(ctx, "PreSync", hooks)
        state.update(preSyncDone=True, results=[vars(r) for r in done])
    failed = _failed(done)
    for i, (wave, objs, gone) in enumerate(plan.steps(ctx.policy.option("PruneLast"))):
        if failed or i < state["wave"]:
            continue
        if wave is None:  # PruneLast: after every wave and the Sync hooks
            done += hookmod.run(ctx, "Sync", hooks)
            state["syncHooksDone"] = True
        label = "prune last" if wave is None else f"wave {wave}"
        ctx.emit({"reason": "SyncWave", "message": f"{label}: {len(objs)} objects"})
        done += _apply(ctx, objs) if objs else []
        if not _failed(done):
            done += _prune(ctx, gone)
        failed = _failed(done)
        state.update(wave=i + 1, results=[vars(r) for r in done])
        _put(ctx, "Running", state)
    if not failed and not state.get("syncHooksDone"):
        done += hookmod.run(ctx, "Sync", hooks)
        failed = _failed(done)
    done += _skipped(plan)
    if not failed and hookmod.PHASES[2] in {syncmod.hook_of(h) for h in hooks}:
        keys = [d.key for d in cmp_result.diffs if d.desired is not None]
        healthy = _wait_keys_healthy(ctx, keys, hookmod.timeout())
        if healthy != health.HEALTHY:
            done.append(
                ResourceResult(
                    "//Application/" + ctx.name,
                    "",
                    "SyncFailed",
                    f"application is {healthy}; PostSync hooks not run",
                    "failed",
                    "PostSync",
                )
            )
        else:
            done += hookmod.run(ctx, "PostSync", hooks)
        failed = _failed(done)
    if failed:
        done += hookmod.run(ctx, "SyncFail", hooks)
    res.resources = done
    after, _ = cmp.compare(ctx, res.revision)
    phase = "Failed" if failed else "Succeeded"
    msg = _summary(done, failed)
    return _finish(ctx, res, after, phase, msg, prune, state)


def _failed(done: list[ResourceResult]) -> bool:
    return any(r.status == "SyncFailed" for r in done)


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[2]


def _apply(ctx: cmp.Ctx, objs: list[dict[str, Any]]) -> list[ResourceResult]:
    """Apply in order; consecutive objects with the same per-object sync options go together."""
    out: list[ResourceResult] = []
    run: list[dict[str, Any]] = []
    run_opts: frozenset[str] | None = None
    for obj in objs:
        opts = ctx.policy.options | frozenset(syncmod.sync_options(obj))
        if run and opts != run_opts:
            out += _apply_run(ctx, run, run_opts or frozenset())
            run = []
        run.append(obj)
        run_opts = opts
    if run:
        out += _apply_run(ctx, run, run_opts or frozenset())
    return out


def _apply_run(
    ctx: cmp.Ctx, objs: list[dict[str, Any]], options: frozenset[str]
) -> list[ResourceResult]:
    versions = {render.key_of(o): _version(o) for o in objs}
    try:
        results = ctx.target.apply(ctx.name, objs, options=options)
    except ClusterError as exc:
        return [ResourceResult(k, v, "SyncFailed", str(exc), "failed") for k, v in versions.items()]
    out = []
    for r in results:
        out.append(ResourceResult(r.key, versions.get(r.key, ""), r.status, r.message, r.action))
        ctx.emit(
            {
                "reason": "ResourceSynced" if r.status == "Synced" else "ResourceFailed",
                "message": f"{r.key}: {r.action} {r.message}".strip(),
                "object": r.key,
            }
        )
    return out


def _skipped(plan: syncmod.Plan) -> list[ResourceResult]:
    return [
        ResourceResult(
            render.key_of(o),
            _version(o),
            "PruneSkipped",
            "ignored (Prune=false)"
            if "Prune=false" in syncmod.sync_options(o)
            else "ignored (requires pruning)",
        )
        for o in plan.skipped_prune
    ]


def _prune(ctx: cmp.Ctx, objs: list[dict[str, Any]]) -> list[ResourceResult]:
    if not objs:
        return []
    try:
        results = ctx.target.delete(ctx.name, objs)
    except ClusterError as exc:
        return [
            ResourceResult(render.key_of(o), _version(o), "SyncFailed", str(exc), "failed")
            for o in objs
        ]
    out = []
    for r in results:
        ctx.emit({"reason": "ResourcePruned", "message": r.key, "object": r.key})
        out.append(ResourceResult(r.key, "", r.status, r.message, r.action))
    return out


def _summary(done: list[ResourceResult], failed: bool) -> str:
    if failed:
        bad = [f"{r.key}: {r.message}" for r in done if r.status == "SyncFailed"]
        return "one or more objects failed to apply: " + "; ".join(bad)
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


def _wait_keys_healthy(ctx: cmp.Ctx, keys: list[str], timeout: float) -> str:
    """Poll the target until the objects ``keys`` are Healthy or one is Degraded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            live = ctx.target.live(ctx.name)
        except ClusterError:
            return health.UNKNOWN
        found = [health.of(live.get(k)) for k in keys]
        last = health.aggregate(h[0] if h else None for h in found)
        if last in (health.HEALTHY, health.DEGRADED) or time.monotonic() >= deadline:
            return last
        time.sleep(0.3)


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
    found = [health.of(live.get(k)) for k in keys]
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
        if cmp_result.conditions:
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
