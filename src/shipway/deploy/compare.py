"""Comparing an Application with its target: context, render + diff + health, status writes.

The first half of the reconciler (``shipway.deploy.engine`` is the second):
``context`` loads the Application, its target and the renderer; ``compare``
renders every source (labelling each object with the app instance label and
the tracking annotation), puts the digests a ``mutateDigest`` rule pinned at
the last sync in the images (``shipway.deploy.digest_pins``), reads live state
and diffs; ``write_status`` stores
the Application status. Render and git errors become a ``ComparisonError``
condition (nothing is applied); a target failure an ``UnknownError`` one; a
pinned tag its registry could not resolve an ``ImageDigestWarning`` (the
recorded digest is compared; it stops no sync). A pass's tag lookups come in
``Ctx.digests`` (``shipway.deploy.digest_lookup``); a lone refresh or sync makes its own.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipway import cluster
from shipway.cluster.podman import PodmanTarget
from shipway.deploy import (
    appspec,
    digest_lookup,
    digest_pins,
    health,
    health_settings,
    preview_ports,
    project,
    render,
    repocreds,
    sources,
)
from shipway.deploy import diff as diffmod
from shipway.deploy import status as st
from shipway.deploy import sync as syncmod
from shipway.deploy.status import AppStatus
from shipway.model import events as ev
from shipway.model import namespaces
from shipway.model.errors import ClusterError, GitError, InputError
from shipway.model.resources import Resource
from shipway.runtime.podman_env import podman_env
from shipway.settings import Settings
from shipway.settings import load as load_settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import Store

EventSink = Callable[[dict[str, Any]], None]

_renderers: dict[str, sources.Renderer] = {}


_plugins_loaded: set[str] = set()


def load_health_plugins() -> None:
    """Import the modules named in ``SHIPWAY_HEALTH_PLUGINS`` (comma-separated) once each.

    A plugin is a module that calls ``shipway.deploy.health.register(group, kind, check)``
    where ``check(obj) -> (status, message) | None``; it replaces the built-in check.
    """
    for name in os.environ.get("SHIPWAY_HEALTH_PLUGINS", "").split(","):
        name = name.strip()
        if name and name not in _plugins_loaded:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                raise InputError(f"cannot import health plugin: {exc}", subject=name) from exc
            _plugins_loaded.add(name)


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


class Unreachable:
    """A target that could not be connected: every read fails, so the app shows Unknown."""

    name = "unreachable"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def known_kinds(self) -> frozenset[str] | None:
        return None

    def live(self, app: str) -> dict[str, dict[str, Any]]:
        raise ClusterError(self.reason, subject=f"Application/{app}")

    def apply(
        self, app: str, objects: list[dict[str, Any]], *, options: frozenset[str] = frozenset()
    ) -> list[cluster.Result]:
        raise ClusterError(self.reason, subject=f"Application/{app}")

    def delete(self, app: str, objects: list[dict[str, Any]]) -> list[cluster.Result]:
        raise ClusterError(self.reason, subject=f"Application/{app}")


@dataclass
class Ctx:
    store: Store
    settings: Settings
    name: str
    body: dict[str, Any]
    old_status: dict[str, Any]
    target: cluster.Target
    renderer: sources.Renderer
    emit: EventSink
    project: dict[str, Any] | None = None  # the AppProject spec (None: not found)
    health_custom: health.Customizations | None = None  # argocd-cm's, read once per pass
    digests: digest_lookup.Lookups | None = None  # the pass's tag lookups (None: this call's)
    owns_digests: bool = False  # ``digests`` was made for this context (closed after compare)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec") or {}
        assert isinstance(spec, dict)
        return spec

    @property
    def policy(self) -> appspec.Policy:
        return appspec.policy(self.spec)


@dataclass
class Loaded:
    """What contexts share: clusters, projects and connected targets (load once per pass)."""

    clusters: dict[str, dict[str, Any]]
    projects: dict[str, dict[str, Any]]
    targets: dict[str, cluster.Target]
    health: health.Customizations | None = None  # argocd-cm's Lua health customizations

    @classmethod
    def load(cls, store: Store) -> Loaded:
        return cls(
            {c.name: c.spec for c in store_resources.list_kind(store, "Cluster")},
            {
                p.name: p.spec
                for p in store_resources.list_kind(store, "AppProject", namespaces.ARGOCD)
            },
            {},
            health_settings.load(store),
        )


def target_key(spec: dict[str, Any]) -> str:
    dest = spec.get("destination") or {}
    return f"{dest.get('name')}|{dest.get('server')}"


def target_for(settings: Settings, app: Resource, loaded: Loaded) -> cluster.Target:
    """The target of ``app``'s destination (connected once per ``loaded``)."""
    dest = appspec.destination(app.spec)
    tkey = target_key(app.spec)
    target = loaded.targets.get(tkey)
    if target is None:
        target = cluster.connect(
            settings, dest, loaded.clusters, podman_env=lambda: local_env(settings)
        )
        loaded.targets[tkey] = target
    return target


def context(
    store: Store,
    name: str,
    settings: Settings | None,
    on_event: EventSink | None,
    *,
    fetch: bool = True,
) -> Ctx:
    """Load the Application, connect its target; ``fetch`` makes the next resolve fetch.

    ``name`` is ``web``, ``dev/web`` or ``dev_web`` (``namespaces.split_app``); the
    context's ``name`` is the instance name (``dev_web``) targets and state know it by.
    """
    ns, plain = namespaces.split_app(name)
    app = store_resources.get(store, "Application", plain, ns)
    return context_for(store, app, settings, on_event, Loaded.load(store), fetch=fetch)


def context_for(
    store: Store,
    app: Resource,
    settings: Settings | None,
    on_event: EventSink | None,
    loaded: Loaded,
    *,
    fetch: bool = True,
) -> Ctx:
    settings = settings or load_settings()
    load_health_plugins()
    try:
        target = target_for(settings, app, loaded)
    except ClusterError as exc:
        target = Unreachable(str(exc))
    name = namespaces.instance(app.namespace, app.name)

    began: list[float] = []  # when this process saw the operation start (its duration)

    def emit(event: dict[str, Any]) -> None:
        event = {"app": name, **event}
        record(store, app, event)
        if event["reason"] == "OperationStarted":
            began[:] = [time.monotonic()]
        elif event["reason"] == "OperationCompleted" and event.get("phase"):
            took = time.monotonic() - began.pop() if began else None
            store_events.record_reconcile(store, app.namespace, app.name, str(event["phase"]), took)
        if on_event is not None:
            on_event(event)

    r = renderer(settings)
    r.auth = repocreds.git_auth(store)
    if fetch:
        r.forget_fetches()
    ctx = Ctx(store, settings, name, app.body, dict(app.status), target, r, emit)
    ctx.health_custom = loaded.health
    proj_name = str(app.spec.get("project") or "default")
    if proj_name in loaded.projects:
        ctx.project = dict(loaded.projects[proj_name])
    elif proj_name == "default":
        ctx.project = dict(project.ALLOW_ALL)
    return ctx


# -- compare ---------------------------------------------------------------


def resolve(ctx: Ctx, revision: str | None) -> list[str]:
    """The commit of each source.

    ``revision`` overrides the first source's; a comma-separated list (what a
    multi-source sync records as its revision) gives one revision per source.
    """
    given = revision.split(",") if revision else []
    out = []
    for i, source in enumerate(appspec.sources(ctx.spec)):
        if len(given) > 1:
            wanted = given[i] if i < len(given) else source.get("targetRevision")
        else:
            wanted = revision if i == 0 and revision else source.get("targetRevision")
        out.append(ctx.renderer.repo(source["repoURL"]).resolve(wanted))
    return out


def _desired(ctx: Ctx, commits: list[str]) -> tuple[list[dict[str, Any]], str]:
    """Render every source at its commit; returns (manifests with tracking, source type)."""
    pairs: list[tuple[str, Any]] = []
    kind = ""
    for source, commit in zip(appspec.sources(ctx.spec), commits, strict=True):
        rendered = ctx.renderer.render(source, ctx.name, commit)
        pairs += rendered.manifests
        kind = kind or rendered.tool
    manifests = render.validate(
        pairs, known_kinds=ctx.target.known_kinds(), namespace=appspec.namespace(ctx.spec)
    )
    refuse = getattr(ctx.target, "check", None)  # a target's own refusals, for the whole app
    if refuse is not None:  # before anything of it is applied (validate defaulted namespaces)
        refuse(pairs)
    project.check_kinds(str(ctx.spec.get("project") or "default"), ctx.project or {}, manifests)
    preview = preview_ports.preview_of(ctx.body)
    if preview and isinstance(ctx.target, PodmanTarget):  # its own loopback ports
        manifests = preview_ports.remap(ctx.store, preview, manifests)
    elif preview:  # on a cluster, the cluster allocates each preview its own node ports
        manifests = preview_ports.unpin(manifests)
    return [_track(ctx.name, m) for m in manifests], kind


def _track(app: str, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("labels", {})[cluster.INSTANCE_LABEL] = app
    key = render.key_of(obj)
    group, kind, ns, name = st.split_key(key)
    tracking = f"{app}:{group}/{kind}:{ns}/{name}"
    meta.setdefault("annotations", {})[cluster.TRACKING_ANNOTATION] = tracking
    return obj


def _check_project(ctx: Ctx) -> None:
    name = str(ctx.spec.get("project") or "default")
    if ctx.project is None:
        raise InputError(f"AppProject {name!r} does not exist", subject=f"AppProject/{name}")
    for source in appspec.sources(ctx.spec):
        project.check_source(name, ctx.project, str(source["repoURL"]))
    project.check_destination(name, ctx.project, appspec.destination(ctx.spec))


RENDER_LOCK = threading.RLock()
"""Held while rendering: a renderer's mirrors and ``git cat-file`` process are not thread-safe."""


def desired_at(ctx: Ctx, revision: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The commit(s) ``revision`` resolves to and the manifests rendered there (hooks too).

    What the UI diffs between two history entries, and shows before a rollback.
    """
    with RENDER_LOCK:
        commits = resolve(ctx, revision)
        return ",".join(commits), _desired(ctx, commits)[0]


def compare(ctx: Ctx, revision: str | None) -> tuple[AppStatus, list[dict[str, Any]]]:
    with RENDER_LOCK:
        try:
            return _compare(ctx, revision)
        finally:
            if ctx.owns_digests and ctx.digests is not None:
                ctx.digests.close()  # its connections; the answers stay for ctx's next compare


def _lookups(ctx: Ctx) -> digest_lookup.Lookups:
    """The pass's lookups, else this context's own (a refresh, or a sync and its re-compare)."""
    if ctx.digests is None:
        ctx.digests, ctx.owns_digests = digest_lookup.Lookups(), True
    return ctx.digests


def _compare(ctx: Ctx, revision: str | None) -> tuple[AppStatus, list[dict[str, Any]]]:
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
        _check_project(ctx)
    except InputError as exc:
        result.conditions = [condition("InvalidSpecError", str(exc))]
        result.health = str((ctx.old_status.get("health") or {}).get("status", health.UNKNOWN))
        return result, []
    try:
        commits = resolve(ctx, revision)
        result.revision = ",".join(commits)
        desired, result.source_type = _desired(ctx, commits)
        result.hooks = [
            m
            for m in desired
            if syncmod.hook_of(m) not in (None, "Skip") and syncmod.hook_of(m) != ""
        ]
        desired = [m for m in desired if syncmod.hook_of(m) is None]
        result.written, result.written_hooks = desired, result.hooks
        record = digest_pins.recorded(ctx.old_status)
        if record:  # images a mutateDigest rule pinned: compare with the tag's digest now
            images = digest_pins.images_of(desired + result.hooks)
            now = digest_pins.current(record, images, _lookups(ctx).digest)
            result.pins = pins = now.pins
            result.conditions = _kept_since(
                ctx.old_status,
                [condition(DIGEST_WARNING, m) for m in digest_pins.warnings(now, record)],
            )
            desired = digest_pins.apply(desired, pins)
            result.hooks = digest_pins.apply(result.hooks, pins)
    except (InputError, GitError) as exc:
        result.conditions = [condition("ComparisonError", str(exc))]
        result.health = str((ctx.old_status.get("health") or {}).get("status", health.UNKNOWN))
        return result, []
    try:
        live = {k: o for k, o in ctx.target.live(ctx.name).items() if syncmod.hook_of(o) is None}
    except ClusterError as exc:
        result.conditions = [condition("UnknownError", str(exc)), *result.conditions]
        result.health_message = str(exc)
        return result, desired
    try:
        result.diffs = diffmod.compare_all(
            desired,
            live,
            appspec.ignore_rules(spec),
            last_applied=_last_applied(ctx.target, ctx.name),
            scope=_scope(ctx.target),
        )
    except diffmod.RuleError as exc:  # an ignoreDifferences rule it cannot apply
        msg = f"Application {ctx.name!r}: {exc}"
        result.conditions = [condition("ComparisonError", msg), *result.conditions]
        return result, desired
    custom = ctx.health_custom  # argocd-cm's Lua health customizations (read with the pass)
    for d in result.diffs:
        result.health_by_key[d.key] = health.of(d.live, custom)
    result.health, result.health_message = health.application(
        (d.desired, d.live, result.health_by_key[d.key]) for d in result.diffs if d.desired
    )
    result.sync_status = diffmod.OUT_OF_SYNC if result.out_of_sync else st.SYNCED
    return result, desired


def _last_applied(target: cluster.Target, app: str) -> dict[str, dict[str, Any]] | None:
    """What the target recorded applying per object, if it keeps a record (podman)."""
    read = getattr(target, "last_applied", None)
    return dict(read(app)) if callable(read) else None


def _scope(target: cluster.Target) -> diffmod.Scope:
    """Which kinds are cluster-scoped: from the target's discovery, else the known ones."""
    ask = getattr(target, "cluster_scoped", None)

    def scoped(group: str, kind: str) -> bool:
        if callable(ask):
            found = ask(group, kind)
            if found is not None:
                return bool(found)
        return kind in render.CLUSTER_SCOPED

    return scoped


def condition(ctype: str, message: str) -> dict[str, str]:
    return {"type": ctype, "message": message, "lastTransitionTime": st.now()}


DIGEST_WARNING = "ImageDigestWarning"
"""A pinned image's tag could not be resolved: the recorded digest is compared (no sync stops)."""


def _kept_since(old: dict[str, Any], conds: list[dict[str, str]]) -> list[dict[str, str]]:
    """``conds`` with the ``lastTransitionTime`` of the same condition in ``old``, as Argo CD keeps
    it (a condition that stays does not rewrite the status every pass)."""
    before = {(c.get("type"), c.get("message")): c for c in old.get("conditions") or []}
    out = []
    for c in conds:
        seen = before.get((c["type"], c["message"]))
        since = seen.get("lastTransitionTime") if seen else None
        out.append({**c, "lastTransitionTime": since} if since else c)
    return out


def write_status(ctx: Ctx, status: dict[str, Any]) -> None:
    old_health = ctx.old_status.get("health") or {}
    before = str(old_health.get("status") or "")
    if isinstance(status.get("health"), dict) and status["health"].get("status"):
        # Argo CD's health.lastTransitionTime (its catalog's on-deployed compares it with the
        # sync's finishedAt): kept while the health status stays, now when it changes
        since = old_health.get("lastTransitionTime")
        changed = status["health"]["status"] != before or not since
        at = st.now() if changed else since
        status = {**status, "health": {**status["health"], "lastTransitionTime": at}}
    ns, name = namespaces.split_app(ctx.name)
    store_resources.set_status(ctx.store, "Application", name, status, ns)
    ctx.old_status = status
    after = (status.get("health") or {}).get("status")
    if after and after != before:  # health changed: one event per change, none for repeats
        message = f"health {before or 'Unknown'} -> {after}"
        if (status.get("health") or {}).get("message"):
            message += f": {status['health']['message']}"
        bad = after in ("Degraded", "Missing")
        store_events.emit(ctx.store, ev.ObjectRef("Application", name, ns),
                          ev.HEALTH_CHANGED, message, type=ev.WARNING if bad else ev.NORMAL,
                          source="reconciler")  # fmt: skip


_WARNINGS = ("Failed", "Error", "SyncFailed", "Degraded", "Warning")


def record(store: Store, app: Resource, event: dict[str, Any]) -> None:
    """Store an engine event about ``app``; a completed operation is ``Sync<phase>``."""
    reason = str(event["reason"])
    phase = str(event.get("phase") or "")
    if reason == "OperationCompleted" and phase:
        reason = f"Sync{phase}"
    warning = any(w in reason for w in _WARNINGS) or phase in ("Failed", "Error")
    store_events.emit(store, ev.ObjectRef("Application", app.name, app.namespace), reason,
                      str(event.get("message", "")), type=ev.WARNING if warning else ev.NORMAL,
                      source="reconciler")  # fmt: skip
