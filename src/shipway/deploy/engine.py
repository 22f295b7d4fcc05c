"""The reconciler: render, diff, sync, prune, health, history, self-heal, rollback.

The controller and the CLI call five functions:

- ``reconcile(store, app, *, revision, prune, dry_run, on_event)`` → ``SyncResult``
- ``refresh(store, app)`` → ``AppStatus`` (render + diff + health, nothing applied)
- ``wait_healthy(store, app, timeout)`` → the health status name
- ``self_heal_pass(store)`` → the ``SyncResult`` of every automated sync it ran
- ``resume_interrupted(store)`` → finishes syncs a killed process left running

A sync is a state machine persisted with ``store.runs.put_state`` under the
engine name ``deploy.sync`` and the application's name: ``Running`` (with the
next wave to apply and the results so far) → ``Succeeded`` | ``Failed``. A
process killed mid-sync leaves ``Running``; ``resume_interrupted`` continues
it from the wave it had reached (apply is idempotent). Status is written to
the Application in Argo CD's shape through ``store.resources.set_status``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipway import cluster
from shipway.cluster.podman import PodmanTarget
from shipway.deploy import appspec, health, render, sources
from shipway.deploy import diff as diffmod
from shipway.deploy import status as st
from shipway.deploy import sync as syncmod
from shipway.deploy.status import AppStatus, ResourceResult, SyncResult
from shipway.model.errors import ClusterError, GitError, InputError, NotFoundError
from shipway.runtime.podman_env import podman_env
from shipway.settings import Settings
from shipway.settings import load as load_settings
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

ENGINE = "deploy.sync"
EventSink = Callable[[dict[str, Any]], None]

_renderers: dict[str, sources.Renderer] = {}


def renderer(settings: Settings) -> sources.Renderer:
    """One renderer per state directory per process (keeps the per-commit listings)."""
    key = str(settings.home)
    if key not in _renderers:
        _renderers[key] = sources.Renderer(settings)
    return _renderers[key]


def _insecure_registries() -> list[str]:
    raw = os.environ.get("SHIPWAY_INSECURE_REGISTRIES", "")
    return [r.strip() for r in raw.split(",") if r.strip()]


def local_env(settings: Settings) -> dict[str, str]:
    """The podman environment of the built-in ``local`` cluster (``$SHIPWAY_HOME/podman``).

    Registries named in ``SHIPWAY_INSECURE_REGISTRIES`` (comma-separated) are
    reached over plain HTTP.
    """
    return podman_env(settings.home / "podman", _insecure_registries())


def local_target(settings: Settings | None = None) -> PodmanTarget:
    """The built-in podman host, e.g. for ``shipway demo --clean`` (``.clean()``)."""
    settings = settings or load_settings()
    return PodmanTarget(settings, local_env(settings))


@dataclass
class _Ctx:
    store: Store
    settings: Settings
    name: str
    body: dict[str, Any]
    old_status: dict[str, Any]
    target: cluster.Target
    renderer: sources.Renderer
    emit: EventSink

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec") or {}
        assert isinstance(spec, dict)
        return spec

    @property
    def policy(self) -> appspec.Policy:
        return appspec.policy(self.spec)


def _context(
    store: Store, name: str, settings: Settings | None, on_event: EventSink | None
) -> _Ctx:
    settings = settings or load_settings()
    app = store_resources.get(store, "Application", name)
    clusters = {c.name: c.spec for c in store_resources.list_kind(store, "Cluster")}
    target = cluster.connect(
        settings, appspec.destination(app.spec), clusters, podman_env=local_env(settings)
    )

    def emit(event: dict[str, Any]) -> None:
        event = {"app": name, **event}
        runs.record_event(
            store, "deploy", f"Application/{name}", event["reason"], event.get("message", "")
        )
        if on_event is not None:
            on_event(event)

    r = renderer(settings)
    r.forget_fetches()
    return _Ctx(store, settings, name, app.body, dict(app.status), target, r, emit)


# -- compare ---------------------------------------------------------------


def _desired(ctx: _Ctx, revision: str | None) -> tuple[str, list[dict[str, Any]], str]:
    """Render every source; returns (revision, manifests with tracking, source type)."""
    pairs: list[tuple[str, Any]] = []
    commits: list[str] = []
    kind = ""
    for i, source in enumerate(appspec.sources(ctx.spec)):
        rendered = ctx.renderer.render(source, ctx.name, revision if i == 0 else None)
        pairs += rendered.manifests
        commits.append(rendered.commit)
        kind = kind or rendered.tool
    manifests = render.validate(
        pairs, known_kinds=ctx.target.known_kinds(), namespace=appspec.namespace(ctx.spec)
    )
    return ",".join(commits), [_track(ctx.name, m) for m in manifests], kind


def _track(app: str, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("labels", {})[cluster.INSTANCE_LABEL] = app
    key = render.key_of(obj)
    group, kind, ns, name = st.split_key(key)
    tracking = f"{app}:{group}/{kind}:{ns}/{name}"
    meta.setdefault("annotations", {})[cluster.TRACKING_ANNOTATION] = tracking
    return obj


def _compare(ctx: _Ctx, revision: str | None) -> tuple[AppStatus, list[dict[str, Any]]]:
    spec = ctx.spec
    source = spec.get("source") or {"sources": spec.get("sources")}
    result = AppStatus(
        ctx.name,
        st.UNKNOWN,
        "",
        health.UNKNOWN,
        source=source,
        destination=appspec.destination(spec),
    )
    try:
        result.revision, desired, result.source_type = _desired(ctx, revision)
    except (InputError, GitError) as exc:
        result.conditions = [_condition("ComparisonError", str(exc))]
        result.health = str((ctx.old_status.get("health") or {}).get("status", health.UNKNOWN))
        return result, []
    try:
        live = ctx.target.live(ctx.name)
    except ClusterError as exc:
        result.conditions = [_condition("UnknownError", str(exc))]
        result.health_message = str(exc)
        return result, desired
    result.diffs = diffmod.compare_all(desired, live, appspec.ignore_rules(spec))
    for d in result.diffs:
        result.health_by_key[d.key] = health.of(d.live)
    managed = [result.health_by_key[d.key] for d in result.diffs if d.desired is not None]
    result.health = health.aggregate(h[0] if h else None for h in managed)
    worst = [h for h in managed if h and h[0] == result.health and h[1]]
    result.health_message = worst[0][1] if worst and result.health != health.HEALTHY else ""
    result.sync_status = diffmod.OUT_OF_SYNC if result.out_of_sync else st.SYNCED
    return result, desired


def _condition(ctype: str, message: str) -> dict[str, str]:
    return {"type": ctype, "message": message, "lastTransitionTime": st.now()}


def _write_status(ctx: _Ctx, status: dict[str, Any]) -> None:
    store_resources.set_status(ctx.store, "Application", ctx.name, status)
    ctx.old_status = status


def refresh(store: Store, app_name: str, *, settings: Settings | None = None) -> AppStatus:
    """Render and compare with live state, write the status; apply nothing."""
    ctx = _context(store, app_name, settings, None)
    pin = (ctx.old_status.get("pin") or {}).get("revision")
    result, _ = _compare(ctx, pin)
    _write_status(ctx, st.comparison_status(ctx.old_status, result))
    return result


# -- sync ------------------------------------------------------------------


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
    ctx = _context(store, app_name, settings, on_event)
    if unpin and ctx.old_status.get("pin"):
        ctx.old_status.pop("pin")
        ctx.emit({"reason": "Unpinned", "message": "following targetRevision again"})
    if revision is None:
        revision = (ctx.old_status.get("pin") or {}).get("revision")
    do_prune = ctx.policy.prune if prune is None else prune
    return _sync(ctx, revision, do_prune, dry_run, resume=None)


def _sync(
    ctx: _Ctx,
    revision: str | None,
    prune: bool,
    dry_run: bool,
    resume: dict[str, Any] | None,
) -> SyncResult:
    started = (resume or {}).get("startedAt") or st.now()
    ctx.emit({"reason": "OperationStarted", "message": f"sync to {revision or 'target revision'}"})
    cmp_result, _ = _compare(ctx, revision)
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
    _write_status(
        ctx,
        {
            **ctx.old_status,
            "operationState": st.operation_state(res, prune, cmp_result.source)
            | {"phase": "Running"},
        },
    )
    failed = False
    for i, (wave, objs) in enumerate(plan.waves):
        if i < state["wave"]:
            continue
        ctx.emit({"reason": "SyncWave", "message": f"wave {wave}: {len(objs)} objects"})
        done += _apply(ctx, objs)
        failed = any(r.status == "SyncFailed" for r in done)
        state.update(wave=i + 1, results=[vars(r) for r in done])
        _put(ctx, "Running", state)
        if failed:
            break
    if not failed:
        done += _prune(ctx, plan)
        failed = any(r.status == "SyncFailed" for r in done)
    res.resources = done
    after, _ = _compare(ctx, res.revision)
    phase = "Failed" if failed else "Succeeded"
    msg = _summary(done, failed)
    return _finish(ctx, res, after, phase, msg, prune, state)


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[2]


def _apply(ctx: _Ctx, objs: list[dict[str, Any]]) -> list[ResourceResult]:
    versions = {render.key_of(o): _version(o) for o in objs}
    try:
        results = ctx.target.apply(ctx.name, objs, options=ctx.policy.options)
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


def _prune(ctx: _Ctx, plan: syncmod.Plan) -> list[ResourceResult]:
    out = [
        ResourceResult(render.key_of(o), _version(o), "PruneSkipped", "ignored (requires pruning)")
        for o in plan.skipped_prune
    ]
    if plan.prune:
        try:
            results = ctx.target.delete(ctx.name, plan.prune)
        except ClusterError as exc:
            return [
                *out,
                *(
                    ResourceResult(render.key_of(o), _version(o), "SyncFailed", str(exc), "failed")
                    for o in plan.prune
                ),
            ]
        for r in results:
            ctx.emit({"reason": "ResourcePruned", "message": r.key, "object": r.key})
            out.append(ResourceResult(r.key, "", r.status, r.message, r.action))
    return out


def _summary(done: list[ResourceResult], failed: bool) -> str:
    if failed:
        bad = [f"{r.key}: {r.message}" for r in done if r.status == "SyncFailed"]
        return "one or more objects failed to apply: " + "; ".join(bad)
    return f"successfully synced (all {len(done)} tasks run)"


def _put(ctx: _Ctx, phase: str, state: dict[str, Any]) -> None:
    runs.put_state(ctx.store, ENGINE, ctx.name, phase, state)


def _finish(
    ctx: _Ctx,
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
    _write_status(ctx, status)
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
            ctx = _context(store, name, settings, None)
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
    ctx = _context(store, app_name, settings, None)
    deadline = time.monotonic() + timeout
    last = health.UNKNOWN
    while True:
        last = _live_health(ctx)
        if last in (health.HEALTHY, health.DEGRADED) or time.monotonic() >= deadline:
            status = dict(ctx.old_status)
            status["health"] = {"status": last}
            _write_status(ctx, status)
            return last
        time.sleep(interval)


def _live_health(ctx: _Ctx) -> str:
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
    renderer(settings or load_settings()).forget_fetches()
    for app in store_resources.list_kind(store, "Application"):
        pol = appspec.policy(app.spec)
        if not pol.automated:
            continue
        try:
            cmp_result = refresh(store, app.name, settings=settings)
        except (ClusterError, InputError, NotFoundError) as exc:
            out.append(SyncResult(app.name, "Error", "", str(exc)))
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
        out.append(reconcile(store, app.name, settings=settings))
    return out


def history(store: Store, app_name: str) -> list[dict[str, Any]]:
    app = store_resources.get(store, "Application", app_name)
    return list(app.status.get("history") or [])


def rollback(
    store: Store,
    app_name: str,
    history_id: int | None = None,
    *,
    settings: Settings | None = None,
    on_event: EventSink | None = None,
    prune: bool = False,
) -> SyncResult:
    """Sync to a history entry's revision (default: the one before the newest).

    With automated sync on, the application is pinned to that revision (its
    ``status.pin``) so automation does not undo the rollback; ``shipway app
    sync NAME`` (``reconcile(..., unpin=True)``) follows targetRevision again.
    """
    entries = history(store, app_name)
    if history_id is None:
        if len(entries) < 2:
            raise NotFoundError(
                "no earlier revision in the history", subject=f"Application/{app_name}"
            )
        entry = entries[-2]
    else:
        found = [h for h in entries if int(h["id"]) == history_id]
        if not found:
            raise NotFoundError(
                f"history id {history_id} not found", subject=f"Application/{app_name}"
            )
        entry = found[0]
    app = store_resources.get(store, "Application", app_name)
    pinned = appspec.policy(app.spec).automated
    if pinned:
        status = dict(app.status)
        status["pin"] = {
            "revision": entry["revision"],
            "historyId": entry["id"],
            "since": st.now(),
            "reason": "rollback while automated sync is enabled",
        }
        store_resources.set_status(store, "Application", app_name, status)
    res = reconcile(
        store,
        app_name,
        revision=entry["revision"],
        prune=prune,
        on_event=on_event,
        settings=settings,
    )
    res.pinned = pinned
    return res


def delete_app(
    store: Store, app_name: str, *, cascade: bool = True, settings: Settings | None = None
) -> list[ResourceResult]:
    """Delete an application: its live objects first (``cascade``), then the resource."""
    ctx = _context(store, app_name, settings, None)
    out: list[ResourceResult] = []
    if cascade:
        live = ctx.target.live(ctx.name)
        objs = sorted(live.values(), key=syncmod.sort_key, reverse=True)
        out = [
            ResourceResult(r.key, "", r.status, r.message, r.action)
            for r in ctx.target.delete(ctx.name, objs)
        ]
    store_resources.delete(store, "Application", app_name)
    runs.put_state(store, ENGINE, app_name, "Deleted", {})
    return out
