"""The ApplicationSet engine: generate, render, and write the Applications each set owns.

``reconcile(store, settings, name, namespace)`` reads what the generators
need (``StoreInputs``: git through the config mirrors of
``deploy.gitsource``, with Argo CD's repository credentials from
``deploy.repocreds``, Clusters from the store plus the built-in local one,
open pull requests through ``git.forge`` clients that keep their ETags
between passes), plans with ``appset.plan`` and applies the plan:
Applications are created and updated through the resource store, and
deleted through ``deploy.history.delete_app`` with their resources (without
them when the set says ``preserveResourcesOnDeletion``). Status is written
on the ApplicationSet (Argo CD's conditions ``ErrorOccurred``,
``ParametersGenerated``, ``ResourcesUpToDate`` and ``status.resources``);
events name what changed. ``prune_orphans`` deletes Applications whose
ApplicationSet is gone. ``due`` says which sets a periodic pass should
refresh (``requeueAfterSeconds``, pull requests every 30 minutes by default,
as Argo CD; git generators on the pass interval).

Pull-request tokens (``tokenRef``): shipway has no stored Secret kind, so
``tokenRef: {secretName, key}`` is read from the Secret manifest
``<home>/secrets/<namespace>/<secretName>.yaml`` (``data`` base64 or
``stringData``); ``$SHIPWAY_FORGE_TOKEN`` is the fallback when there is no
``tokenRef``. Touches git, forges and the store.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shipway.deploy import compare, history, repocreds
from shipway.deploy import engine as deploy_engine
from shipway.deploy.appset import plan as plan_mod
from shipway.deploy.appset.inputs import ClusterInfo, PullInfo, Tree
from shipway.deploy.gitsource import ConfigRepo
from shipway.git import forge as forge_mod
from shipway.model import builtin, namespaces
from shipway.model.errors import ClusterError, InputError, ShipwayError
from shipway.model.preview import is_preview_set
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import Store

log = logging.getLogger("shipway.appset")
KIND = "ApplicationSet"
PR_REQUEUE = 1800.0
"""Argo CD's pull-request generator polls every 30 minutes unless requeueAfterSeconds says."""
_DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}


@dataclass
class ForgeCache:
    """Forge clients kept between passes, so conditional requests can reuse their ETags."""

    clients: dict[tuple[str, str, str, str, bool], forge_mod.Forge] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    transport: Any = None
    """An httpx transport for every client (tests)."""

    def client(
        self, kind: str, api: str, project: str, token: str, insecure: bool = False
    ) -> forge_mod.Forge:
        key = (kind, api, project, token, insecure)
        with self.lock:
            found = self.clients.get(key)
            if found is None:
                found = forge_mod.open_forge(
                    kind, api, project, token, transport=self.transport, verify=not insecure
                )
                self.clients[key] = found
            return found


FORGES = ForgeCache()
"""The process's forge clients (the controller's passes share them)."""


def read_secret(settings: Settings, namespace: str, name: str, key: str) -> str:
    import yaml

    path = settings.home / "secrets" / namespace / f"{name}.yaml"
    subject = f"Secret/{namespace}/{name}"
    if not path.is_file():
        raise InputError(
            f"secret {name!r} not found (expected the Secret manifest {path})", subject=subject
        )
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=str(path)) from None
    if not isinstance(doc, dict):
        raise InputError("a Secret manifest is a mapping", file=str(path))
    plain = {str(k): str(v) for k, v in (doc.get("stringData") or {}).items()}
    if key in plain:
        return plain[key]
    raw = (doc.get("data") or {}).get(key)
    if raw is None:
        raise InputError(f"secret {name!r} has no key {key!r}", subject=subject)
    try:
        return base64.b64decode(str(raw), validate=True).decode()
    except ValueError:
        raise InputError(f"data.{key} is not base64", file=str(path)) from None


def api_root(kind: str, api: str) -> str:
    """The REST root of a provider's ``api`` as Argo CD's clients take it: GitLab's and
    Gitea's base URL gains ``/api/v4`` and ``/api/v1``; a GitHub Enterprise host ``/api/v3``."""
    api = (api or _DEFAULT_API.get(kind, "")).rstrip("/")
    suffix = {"gitlab": "/api/v4", "gitea": "/api/v1", "github": "/api/v3"}[kind]
    parts = urlsplit(api)
    if kind == "github" and (parts.hostname == "api.github.com" or parts.path not in ("", "/")):
        return api
    return api if api.endswith(suffix) else api + suffix


class StoreInputs:
    """``appset.inputs.Inputs`` over git mirrors, the store and forge clients."""

    def __init__(self, store: Store, settings: Settings, forges: ForgeCache | None = None) -> None:
        self.store = store
        self.settings = settings
        self.forges = forges or FORGES
        self._repos: dict[str, ConfigRepo] = {}
        self._blobs: dict[tuple[str, str], dict[str, str]] = {}
        self.pull_requests = 0
        self.not_modified = 0

    def _repo(self, url: str) -> ConfigRepo:
        if url not in self._repos:
            self._repos[url] = ConfigRepo(self.settings, url, repocreds.git_auth(self.store))
        return self._repos[url]

    def tree(self, repo_url: str, revision: str) -> Tree:
        repo = self._repo(repo_url)
        commit = repo.resolve(revision)
        lst = repo.listing(commit)
        self._blobs[(repo_url, commit)] = lst.blobs
        return Tree(commit, [p for p in lst.trees if p], list(lst.blobs))

    def read(self, repo_url: str, commit: str, path: str) -> bytes:
        blob = self._blobs[(repo_url, commit)][path]
        return self._repo(repo_url).read(blob)

    def clusters(self) -> list[ClusterInfo]:
        stored = builtin.with_builtins(
            KIND_CLUSTER, store_resources.list_kind(self.store, KIND_CLUSTER)
        )
        out = []
        for c in stored:
            spec = c.spec
            server = str(spec.get("server") or spec.get("podmanURL") or "")
            if c.name == builtin.LOCAL_CLUSTER and not server:
                server = "podman://local"
            out.append(
                ClusterInfo(c.name, server, c.labels, c.annotations, str(spec.get("project") or ""))
            )
        return out

    def pulls(self, generator: dict[str, Any], namespace: str) -> list[PullInfo]:
        kind = next(k for k in ("github", "gitlab", "gitea") if generator.get(k))
        provider = generator[kind]
        project = str(provider.get("project") or f"{provider.get('owner')}/{provider.get('repo')}")
        api = api_root(kind, str(provider.get("api") or ""))
        ref = provider.get("tokenRef")
        token = (
            read_secret(self.settings, namespace, str(ref["secretName"]), str(ref["key"]))
            if ref
            else os.environ.get("SHIPWAY_FORGE_TOKEN", "")
        )
        client = self.forges.client(kind, api, project, token, bool(provider.get("insecure")))
        listed = client.list_pulls()
        self.pull_requests += listed.requests
        self.not_modified += listed.not_modified
        return [
            PullInfo(p.number, p.title, p.head, p.base, p.head_sha, p.author, p.labels, p.url)
            for p in listed.pulls
            if p.state == "open"
        ]

    def close(self) -> None:
        for repo in self._repos.values():
            repo.close()


KIND_CLUSTER = "Cluster"


@dataclass
class Result:
    """What one reconcile of an ApplicationSet did (names are plain Application names)."""

    name: str
    namespace: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.conflicts

    def to_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "name",
                "namespace",
                "created",
                "updated",
                "deleted",
                "unchanged",
                "held",
                "conflicts",
                "error",
            )
        }


def reconcile(
    store: Store,
    settings: Settings,
    name: str,
    namespace: str | None = None,
    *,
    inputs: Any = None,
) -> Result:
    """Bring the Applications of one ApplicationSet in line with what it generates."""
    appset = store_resources.get(store, KIND, name, namespace)
    if is_preview_set(appset.body):  # the preview engine owns it (shipway.promote.previews)
        return Result(appset.name, appset.namespace)
    own_inputs = inputs is None
    src = StoreInputs(store, settings) if own_inputs else inputs
    result = Result(appset.name, appset.namespace)
    try:
        try:
            wanted = plan_mod.desired(appset, src)
        except InputError as exc:
            result.error = exc.message
            _status(store, appset, result, [])
            runs.record_event(store, "appset", appset.key, "ApplicationSetError", exc.message)
            return result
        existing = store_resources.list_kind(store, "Application", None)
        plan = plan_mod.changes(appset, wanted, existing)
        _apply(store, settings, appset, plan, result)
        _status(store, appset, result, wanted)
    finally:
        if own_inputs:
            src.close()
    if result.created or result.updated or result.deleted or result.conflicts:
        reason = "ApplicationSetUpdateError" if result.conflicts else "ApplicationSetReconciled"
        runs.record_event(store, "appset", appset.key, reason, _summary(result))
    return result


def _summary(r: Result) -> str:
    parts = [
        f"{verb} {', '.join(names)}"
        for verb, names in (("created", r.created), ("updated", r.updated), ("deleted", r.deleted))
        if names
    ]
    return "; ".join(parts + r.conflicts) or "up to date"


def _to_resource(app: dict[str, Any], appset: Resource) -> Resource:
    meta = app["metadata"]
    return Resource(
        app["apiVersion"],
        "Application",
        meta["name"],
        meta["namespace"],
        app,
        source=f"ApplicationSet/{appset.namespace}/{appset.name}",
    )


def _apply(
    store: Store, settings: Settings, appset: Resource, plan: plan_mod.Plan, result: Result
) -> None:
    writes = [_to_resource(a, appset) for a in [*plan.create, *plan.update]]
    if writes:
        for res, action in store_resources.apply(store, writes):
            (result.created if action == "created" else result.updated).append(res.name)
    result.unchanged = plan.unchanged
    result.held = plan.held
    result.conflicts = plan.conflicts
    for app in plan.delete:
        try:
            delete_app(store, settings, app)
        except ShipwayError as exc:
            result.conflicts.append(f"cannot delete Application {app.name!r}: {exc}")
            continue
        result.deleted.append(app.name)


def delete_app(store: Store, settings: Settings, app: Resource) -> None:
    """Delete a generated Application with its resources (unless its set preserves them).

    An Application whose source is gone with it (the directory a git generator
    found was removed) cannot be rendered for its delete hooks: its live
    objects are deleted without hooks, as Argo CD's finalizer deletes them."""
    key = namespaces.instance(app.namespace, app.name)
    if app.annotations.get(plan_mod.PRESERVE) == "true":  # the resources stay: no target needed
        store_resources.delete(store, "Application", app.name, app.namespace)
        runs.put_state(store, deploy_engine.ENGINE, key, "Deleted", {})
        return
    try:
        history.delete_app(store, key, cascade=True, settings=settings)
        return
    except ClusterError as exc:
        if "cannot render" not in exc.message:
            raise
    ctx = compare.context(store, key, settings, None)
    live = ctx.target.live(ctx.name)
    ctx.target.delete(ctx.name, list(live.values()))
    history.delete_app(store, key, cascade=False, settings=settings)


def _condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _status(store: Store, appset: Resource, r: Result, wanted: list[dict[str, Any]]) -> None:
    error = r.error or "; ".join(r.conflicts)
    conds = [
        _condition(
            "ErrorOccurred",
            bool(error),
            "ApplicationGenerationFromParamsError"
            if r.error
            else ("ApplicationSetUpToDate" if not error else "UpdateError"),
            error or "Successfully generated parameters for all Applications",
        ),
        _condition(
            "ParametersGenerated",
            not r.error,
            "ParametersGenerated" if not r.error else "ErrorOccurred",
            r.error or "Successfully generated parameters for all Applications",
        ),
        _condition(
            "ResourcesUpToDate",
            not error,
            "ApplicationSetUpToDate" if not error else "ErrorOccurred",
            error or "All applications have been generated successfully",
        ),
    ]
    old = dict(appset.status or {})
    status: dict[str, Any] = {
        "conditions": conds,
        "resources": [
            {
                "group": "argoproj.io",
                "version": "v1alpha1",
                "kind": "Application",
                "name": a["metadata"]["name"],
                "namespace": a["metadata"]["namespace"],
            }
            for a in wanted
        ]
        if not r.error
        else old.get("resources", []),
        "reconciledAt": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "observedSpec": spec_hash(appset),
    }
    with contextlib.suppress(ShipwayError):  # deleted while we worked: nothing to record on
        store_resources.set_status(store, KIND, appset.name, status, appset.namespace)


def reconcile_all(store: Store, settings: Settings, *, pulls_only: bool = False) -> list[Result]:
    """Every ApplicationSet (``pulls_only``: those with a pull-request generator), then orphans."""
    out = []
    for appset in store_resources.list_kind(store, KIND, None):
        if pulls_only and not uses(appset, "pullRequest"):
            continue
        try:
            out.append(reconcile(store, settings, appset.name, appset.namespace))
        except ShipwayError as exc:
            log.error("ApplicationSet %s: %s", appset.key, exc)
    prune_orphans(store, settings)
    return out


def prune_orphans(store: Store, settings: Settings, errors: list[str] | None = None) -> list[str]:
    """Delete Applications whose owning ApplicationSet no longer exists; the names deleted
    (each one that could not be, with the reason, goes to ``errors``)."""
    sets = {(a.namespace, a.name) for a in store_resources.list_kind(store, KIND, None)}
    gone = []
    for app in store_resources.list_kind(store, "Application", None):
        owner = app.labels.get(plan_mod.OWNER_LABEL)
        refs = [
            r
            for r in app.metadata.get("ownerReferences") or []
            if r.get("kind") == "ApplicationSet"
        ]
        if not owner or not refs or (app.namespace, str(refs[0].get("name"))) in sets:
            continue
        try:
            delete_app(store, settings, app)
        except ShipwayError as exc:
            log.error("cannot prune Application %s of a deleted ApplicationSet: %s", app.key, exc)
            if errors is not None:
                errors.append(f"application/{app.name} not deleted: {exc}")
            continue
        runs.record_event(
            store, "appset", app.key, "ApplicationPruned", f"its ApplicationSet {owner} was deleted"
        )
        gone.append(app.name)
    return gone


def uses(appset: Resource, kind: str) -> bool:
    """Whether any generator (matrix and merge children included) is of ``kind``."""

    def walk(gens: list[Any]) -> bool:
        for g in gens:
            if not isinstance(g, dict):
                continue
            if g.get(kind) is not None:
                return True
            for nest in ("matrix", "merge"):
                if isinstance(g.get(nest), dict) and walk(g[nest].get("generators") or []):
                    return True
        return False

    return walk(list(appset.spec.get("generators") or []))


def generators_of(appset: Resource, kind: str) -> list[dict[str, Any]]:
    """Every ``kind`` generator body of the set (nested ones included)."""
    out: list[dict[str, Any]] = []

    def walk(gens: list[Any]) -> None:
        for g in gens:
            if not isinstance(g, dict):
                continue
            if isinstance(g.get(kind), dict):
                out.append(g[kind])
            for nest in ("matrix", "merge"):
                if isinstance(g.get(nest), dict):
                    walk(g[nest].get("generators") or [])

    walk(list(appset.spec.get("generators") or []))
    return out


def requeue_seconds(appset: Resource, default: float) -> float:
    """How often a periodic pass refreshes the set: the smallest ``requeueAfterSeconds`` of
    its generators; a pull-request generator without one: 30 minutes; else ``default``."""
    found: list[float] = []
    for kind in ("pullRequest", "git"):
        for body in generators_of(appset, kind):
            secs = body.get("requeueAfterSeconds")
            if secs is not None:
                found.append(float(secs))
            elif kind == "pullRequest":
                found.append(PR_REQUEUE)
    return min(found) if found else default


def due(store: Store, default: float, last: dict[str, tuple[dt.datetime, str]]) -> list[Resource]:
    """The sets to refresh: those not refreshed yet (``last``: when each was queued, and its
    spec's hash then), edited since, or whose requeue interval has passed."""
    t = now()
    out = []
    for appset in store_resources.list_kind(store, KIND, None):
        seen = last.get(appset.key)
        wait = dt.timedelta(seconds=requeue_seconds(appset, default))
        if seen is None or seen[1] != spec_hash(appset) or t - seen[0] >= wait:
            out.append(appset)
    return out


def spec_hash(appset: Resource) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(appset.spec, sort_keys=True).encode()).hexdigest()[:16]
