"""The Application page and its actions: tree, manifests and diffs, history, sync, rollback.

Routes (``/applications/{namespace}/{name}...``): the page (stored status, fast);
``/tree`` (a refresh: render and compare with the cluster, then the objects by
ownership, collapsed); ``/object?key=`` (one object's live manifest beside git's,
Secret values masked, unchanged runs folded); ``/pods`` (the app's pods by workload)
and ``/logs?pod=NAMESPACE/NAME`` or ``?key=`` (a pod's newest log lines), both from
``cluster.app_pods`` as ``shipway app logs`` reads them (podman or Kubernetes);
``/events``; ``/history/diff?a=&b=`` (manifests at two history entries);
``/rollback/preview?id=`` then ``POST /rollback``; ``POST /sync`` (prune, dry run).
Every route checks RBAC (``applications get|sync|rollback``, ``logs get``). Calls
``shipway.deploy`` (engine, history, compare) and ``cluster.app_pods``.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from shipway.auth.policy import Authorizer
from shipway.cluster import app_pods
from shipway.deploy import compare as cmp
from shipway.deploy import engine, history
from shipway.deploy.status import AppStatus, split_key
from shipway.model import namespaces
from shipway.model.errors import InputError, NotFoundError, ShipwayError
from shipway.model.resources import Resource
from shipway.server.auth import identity
from shipway.server.ui import forms, views
from shipway.server.ui.render import page
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import Store

_FRESH = 30.0


def rbac_object(app: Resource) -> str:
    project = str(app.spec.get("project") or "default")
    return f"{project}/{namespaces.qualified(app.namespace, app.name)}"


def load_app(
    store: Store, rbac: Authorizer, request: Request, namespace: str, name: str, action: str
) -> Resource:
    """The Application, if the caller may ``action`` it (``NotFoundError`` if there is none)."""
    res = store_resources.find(store, "Application", name, namespace)
    if res is None:
        raise NotFoundError(
            f"Application {name!r} not found in namespace {namespace!r}",
            subject=f"Application/{namespace}/{name}",
        )
    rbac.require(identity(request), "applications", action, rbac_object(res))
    return res


class Compared:
    """The last comparison of each application (the tree's), reused by its object views."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, AppStatus]] = {}

    def get(self, key: str) -> AppStatus | None:
        with self._lock:
            found = self._last.get(key)
        return found[1] if found and time.monotonic() - found[0] < _FRESH else None

    def put(self, key: str, result: AppStatus) -> None:
        with self._lock:
            self._last[key] = (time.monotonic(), result)


def install(app: FastAPI, store: Store, rbac: Authorizer, settings: Settings) -> None:
    compared = Compared()
    base = "/applications/{namespace}/{name}"

    def load(request: Request, namespace: str, name: str, action: str = "get") -> Resource:
        return load_app(store, rbac, request, namespace, name, action)

    def refreshed(key: str) -> AppStatus:
        found = compared.get(key)
        if found is None:
            found = engine.refresh(store, key, settings=settings)
            compared.put(key, found)
        return found

    async def revision_diff(request: Request, key: str, a: int, b: int,
                            **extra: Any) -> HTMLResponse:  # fmt: skip
        """Revisions ``a`` and ``b`` of ``key`` side by side (``extra``: the rollback form)."""
        left, right = await run_in_threadpool(_revisions, store, settings, key, a, b)
        blocks = views.side_by_side(left[1], right[1])
        return page(request, rbac, "_revdiff.html", blocks=blocks, left=left[0],
                    right=right[0], changed=views.changed(blocks),
                    **{"rollback": None, **extra})  # fmt: skip

    @app.get(base, response_class=HTMLResponse)
    def app_page(request: Request, namespace: str, name: str, fragment: str = "") -> HTMLResponse:
        res = load(request, namespace, name)
        status = res.status
        template = "_app_status.html" if fragment == "status" else "app.html"
        return page(
            request,
            rbac,
            template,
            app=res,
            status=status,
            obj=rbac_object(res),
            key=namespaces.instance(namespace, name),
            history=list(reversed(status.get("history") or [])),
            base=f"/applications/{namespace}/{name}",
        )

    @app.get(base + "/tree", response_class=HTMLResponse)
    async def app_tree(request: Request, namespace: str, name: str) -> HTMLResponse:
        res = load(request, namespace, name)
        key = namespaces.instance(namespace, name)
        result = await run_in_threadpool(lambda: engine.refresh(store, key, settings=settings))
        compared.put(key, result)
        objects = []
        for d in result.diffs:
            group, kind, ns, obj_name = split_key(d.key)
            h = result.health_by_key.get(d.key)
            objects.append(
                {
                    "key": d.key,
                    "group": group,
                    "kind": kind,
                    "namespace": ns,
                    "name": obj_name,
                    "status": d.status,
                    "live": d.live,
                    "health": h[0] if h else "",
                    "message": h[1] if h else "",
                }
            )
        roots = views.tree(objects)
        return page(
            request,
            rbac,
            "_tree.html",
            roots=roots,
            result=result,
            count=len(objects),
            base=f"/applications/{namespace}/{name}",
            app=res,
        )

    @app.get(base + "/object", response_class=HTMLResponse)
    async def app_object(request: Request, namespace: str, name: str, key: str) -> HTMLResponse:
        load(request, namespace, name)
        result = await run_in_threadpool(refreshed, namespaces.instance(namespace, name))
        found = next((d for d in result.diffs if d.key == key), None)
        if found is None:
            raise NotFoundError(f"object {key!r} is not part of this application", subject=key)
        live, desired = views.manifest_pair(found.kind, found.live, found.desired)
        blocks = views.side_by_side(live, desired)
        return page(
            request,
            rbac,
            "_object.html",
            d=found,
            blocks=blocks,
            changed=views.changed(blocks),
            key=key,
            pod=found.kind == "Pod",
            base=f"/applications/{namespace}/{name}",
        )

    @app.get(base + "/pods", response_class=HTMLResponse)
    async def app_pods_list(request: Request, namespace: str, name: str) -> HTMLResponse:
        res = load(request, namespace, name)
        can_logs = rbac.allowed(identity(request), "logs", "get", rbac_object(res))

        def listed() -> tuple[list[dict[str, Any]], str]:
            try:
                return _pods(store, settings, res)[1], ""
            except ShipwayError as exc:
                return [], str(exc)

        found, reason = await run_in_threadpool(listed)
        return page(request, rbac, "_pods.html", pods=found, reason=reason, can_logs=can_logs,
                    base=f"/applications/{namespace}/{name}")  # fmt: skip

    @app.get(base + "/logs", response_class=HTMLResponse)
    async def app_logs(request: Request, namespace: str, name: str, key: str = "",
                       pod: str = "", container: str = "") -> HTMLResponse:  # fmt: skip
        res = load(request, namespace, name)
        rbac.require(identity(request), "logs", "get", rbac_object(res))
        if key:  # a Pod of the resource tree
            _group, kind, ns, pod_name = split_key(key)
            if kind != "Pod":
                return page(request, rbac, "_logs.html", text="", key=key,
                            reason=f"{kind} has no logs: logs are read from Pods")  # fmt: skip
            pod = f"{ns}/{pod_name}"
        if not pod:
            raise InputError("pod or key is required", subject="pod")
        text, reason = await run_in_threadpool(_logs, store, settings, res, pod, container)
        return page(request, rbac, "_logs.html", text=text, reason=reason, key=key or pod)

    @app.get(base + "/events", response_class=HTMLResponse)
    def app_events(request: Request, namespace: str, name: str) -> HTMLResponse:
        load(request, namespace, name)
        found = store_events.query(store, kind="Application", name=name, limit=100, newest=True)
        found.sort(key=lambda e: e.seq, reverse=True)  # newest first
        return page(request, rbac, "_events.html", events=[e.to_dict() for e in found])

    @app.get(base + "/history/diff", response_class=HTMLResponse)
    async def history_diff(
        request: Request, namespace: str, name: str, a: int, b: int
    ) -> HTMLResponse:
        load(request, namespace, name)
        key = namespaces.instance(namespace, name)
        return await revision_diff(request, key, a, b)

    @app.get(base + "/rollback/preview", response_class=HTMLResponse)
    async def rollback_preview(
        request: Request, namespace: str, name: str, id: int
    ) -> HTMLResponse:
        res = load(request, namespace, name, "rollback")
        key = namespaces.instance(namespace, name)
        entries = res.status.get("history") or []
        if not entries:
            raise NotFoundError("no history to roll back to", subject=f"Application/{key}")
        newest = int(entries[-1]["id"])
        return await revision_diff(
            request, key, newest, id, rollback=id, base=f"/applications/{namespace}/{name}"
        )

    @app.post(base + "/rollback", response_class=HTMLResponse)
    async def rollback(request: Request, namespace: str, name: str) -> HTMLResponse:
        form = await forms.checked(request)
        load(request, namespace, name, "rollback")
        key = namespaces.instance(namespace, name)
        entry = forms.integer(form, "id")
        prune = form.get("prune") == "on"
        res = await run_in_threadpool(
            lambda: history.rollback(store, key, entry, prune=prune, settings=settings)
        )
        return page(request, rbac, "_sync_result.html", res=res, what="Rollback")

    @app.post(base + "/sync", response_class=HTMLResponse)
    async def sync(request: Request, namespace: str, name: str) -> HTMLResponse:
        form = await forms.checked(request)
        load(request, namespace, name, "sync")
        key = namespaces.instance(namespace, name)
        prune = True if form.get("prune") == "on" else None
        dry = form.get("dryRun") == "on"
        res = await run_in_threadpool(
            lambda: engine.reconcile(
                store, key, prune=prune, dry_run=dry, unpin=True, settings=settings
            )
        )
        return page(request, rbac, "_sync_result.html", res=res, what="Dry run" if dry else "Sync")


def _revisions(
    store: Store, settings: Settings, key: str, a: int, b: int
) -> tuple[tuple[str, str], tuple[str, str]]:
    """``(revision, all manifests as YAML)`` at history entries ``a`` and ``b``."""
    entries = {int(h["id"]): h for h in history.history(store, key)}
    for wanted in (a, b):
        if wanted not in entries:
            raise NotFoundError(f"no history entry {wanted}", subject=f"Application/{key}")
    ctx = cmp.context(store, key, settings, None)
    out = []
    for wanted in (a, b):
        revision, manifests = cmp.desired_at(ctx, str(entries[wanted].get("revision") or ""))
        docs = sorted(
            manifests, key=lambda m: (m.get("kind", ""), (m.get("metadata") or {}).get("name", ""))
        )
        text = "".join(
            f"--- # {m.get('kind')}/{(m.get('metadata') or {}).get('name')}\n"
            + views.manifest_pair(str(m.get("kind")), m, None)[0]
            for m in docs
        )
        out.append((revision, text))
    return out[0], out[1]


LOG_LINES = 2000
"""The most lines of a pod's log a page shows (the newest)."""


def _pods(store: Store, settings: Settings, app: Resource) -> tuple[Any, list[dict[str, Any]]]:
    """The app's target and its pods (each with its workload), as ``shipway app logs`` finds
    them (``cluster.app_pods``: podman or Kubernetes); ``ClusterError`` when the target
    cannot list pods."""
    target = cmp.target_for(settings, app, cmp.Loaded.load(store))
    key = namespaces.instance(app.namespace, app.name)
    found = []
    for (kind, ns, name), listed in sorted(app_pods.pods(target, key).items()):
        found += [{**p, "workload": f"{kind}/{name}", "workloadNamespace": ns} for p in listed]
    return target, found


def _logs(store: Store, settings: Settings, app: Resource, pod: str,
          container: str | None) -> tuple[str, str]:  # fmt: skip
    """The newest ``LOG_LINES`` of a pod's containers (``pod`` is ``namespace/name``) and
    ``""``, or ``""`` and why they are not available."""
    ns, _, name = pod.rpartition("/")
    try:
        target, found = _pods(store, settings, app)
        chosen = [p for p in found if p["name"] == name and ns in ("", p["namespace"])][:1]
        if not chosen:
            return "", f"pod {pod} is not one of this application's pods"
        lines: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        app_pods.logs(target, chosen, container or None, False, lines.append)
    except ShipwayError as exc:
        return "", str(exc)
    return "\n".join(lines), ""
