"""The controller's read and review API under ``/api``, each route checked against RBAC.

Routes (every one needs a bearer token, ``shipway.server.auth``, except the
password exchange ``POST /api/session``):

- ``POST /api/session`` ``{username, password}`` → a session token (24 h);
  ``DELETE /api/session`` revokes the session token it is called with;
  ``GET /api/session/userinfo``: who the token is.
- ``GET /api/account/can-i/{resource}/{action}/{subresource}`` → ``{"value": "yes"|"no"}``.
- ``GET /api/applications``: Applications the caller may ``get``.
- ``GET /api/releases[?app=]``, ``GET /api/releases/{id}``: release records of
  applications the caller may ``get``.
- ``GET /api/ci/runs``, ``/api/ci/runs/{id}`` (``ci-runs, get``),
  ``/api/ci/runs/{id}/log`` (``ci-runs, logs``), ``GET /api/ci/approvals``,
  ``POST /api/ci/runs/{id}/approve`` ``{environment, reject, comment}``
  (``ci-runs, approve, <pipeline>/<environment>``; the reviewer is the caller).
- ``GET /api/events[?for=KIND/NAME&namespace=&types=Warning&limit=]`` and
  ``GET /api/events/stream`` (server-sent events, ``shipway.server.sse``; same
  filters, ``Last-Event-ID`` resumes): ``events, get, *``.
- ``GET /metrics`` (Prometheus text, ``shipway.server.metrics``):
  ``applications, get, */*`` (the metrics name every application).

Lists leave out what the caller may not ``get`` (as Argo CD's do); a single
object the caller may not read is 403. Touches the store through the engines'
store modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from shipway.auth import accounts
from shipway.auth.policy import Authorizer
from shipway.model import namespaces
from shipway.model.errors import ConflictError, InputError, NotFoundError
from shipway.model.events import event_list, parse_for
from shipway.model.resources import Resource
from shipway.server import metrics, sse
from shipway.server.auth import identity
from shipway.store import accounts as store_accounts
from shipway.store import ci_coord, releases, runs
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import Store

T = TypeVar("T")


class Credentials(BaseModel):
    username: str = ""
    password: str = ""


class Review(BaseModel):
    environment: str
    reject: bool = False
    comment: str = ""


def _call(fn: Callable[[], T]) -> T:
    """Engine errors as HTTP statuses (access errors have their own handler)."""
    try:
        return fn()
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except ConflictError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except InputError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


def app_object(store: Store, app: str) -> str:
    """``<project>/<name>`` of an Application (project ``default`` when it names none).

    ``app`` is ``web``, ``dev/web`` or ``dev_web``; an Application outside ``argocd`` is
    ``<project>/<namespace>/<name>``, as Argo CD names apps in any namespace.
    """
    ns, name = namespaces.split_app(app)
    res = store_resources.find(store, "Application", name, ns)
    project = str((res.spec.get("project") if res else "") or "default")
    return f"{project}/{namespaces.qualified(ns, name)}"


def _ref(res: Resource) -> tuple[str, str]:
    return res.namespace, res.name


def run_pipeline(record: dict[str, Any]) -> str:
    """The Pipeline a run belongs to; ``-`` for runs started by hand (``shipway ci run``)."""
    return str(record.get("pipeline") or "-")


def _event_filter(for_: str | None, namespace: str | None, types: str) -> sse.Filter:
    kind, name = _call(lambda: parse_for(for_)) if for_ else (None, None)
    wanted = [t.strip().capitalize() for t in types.split(",") if t.strip()]
    bad = [t for t in wanted if t not in ("Normal", "Warning")]
    if bad:
        raise HTTPException(status_code=400, detail=f"types {bad[0]!r}: Normal or Warning")
    return sse.Filter(namespace, kind, name, wanted)


def install(app: FastAPI, store: Store) -> Authorizer:
    rbac = Authorizer(store)

    @app.post("/api/session")
    def create_session(creds: Credentials | None = None) -> dict[str, Any]:
        creds = creds or Credentials()
        rec, token = accounts.login(store, creds.username, creds.password)
        return {"token": token, "id": rec.id, "expiresAt": rec.to_dict()["expiresAt"]}

    @app.delete("/api/session")
    def delete_session(request: Request) -> dict[str, Any]:
        who = identity(request)
        if who.token_kind == "session":
            store_accounts.revoke_token(store, who.name, who.token_id)
        return {"revoked": who.token_kind == "session"}

    @app.get("/api/session/userinfo")
    def userinfo(request: Request) -> dict[str, Any]:
        return identity(request).to_dict()

    @app.get("/api/account/can-i/{resource}/{action}/{subresource:path}")
    def can_i(request: Request, resource: str, action: str, subresource: str) -> dict[str, str]:
        ok = rbac.allowed(identity(request), resource, action, subresource)
        return {"value": "yes" if ok else "no"}

    @app.get("/api/applications")
    def list_apps(request: Request, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every Application the caller may get (``?namespace=``: in that namespace only)."""
        allowed = rbac.object_filter(identity(request), "applications", "get")
        apps = store_resources.list_kind(store, "Application", namespace or None)
        return [a.to_object() for a in apps
                if allowed(f"{a.spec.get('project') or 'default'}/"
                           f"{namespaces.qualified(*_ref(a))}")]  # fmt: skip

    @app.get("/api/releases")
    def list_releases(
        request: Request,
        app_name: str | None = None,
        app: str | None = None,
        limit: int = 50,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        who = identity(request)
        rels = releases.list_releases(store, app=app or app_name, limit=limit,
                                      namespace=namespace)  # fmt: skip
        return [r.to_dict() for r in rels
                if rbac.allowed(who, "applications", "get", app_object(store, r.app))]  # fmt: skip

    @app.get("/api/releases/{release_id}")
    def get_release(request: Request, release_id: str) -> JSONResponse:
        rel = _call(lambda: releases.get(store, release_id))
        rbac.require(identity(request), "applications", "get", app_object(store, rel.app))
        return JSONResponse(rel.to_dict())

    def _run_object(record: dict[str, Any]) -> str:
        return f"{run_pipeline(record)}/{record.get('id')}"

    @app.get("/api/ci/runs")
    def list_ci_runs(request: Request, limit: int = 50) -> list[dict[str, Any]]:
        who = identity(request)
        return [r for r in runs.list_runs(store, limit=limit)
                if rbac.allowed(who, "ci-runs", "get", _run_object(r))]  # fmt: skip

    @app.get("/api/ci/runs/{run_id}")
    def get_ci_run(request: Request, run_id: str) -> JSONResponse:
        record, _log = _call(lambda: runs.get_run(store, run_id))
        rbac.require(identity(request), "ci-runs", "get", _run_object(record))
        return JSONResponse(record)

    @app.get("/api/ci/runs/{run_id}/log", response_class=PlainTextResponse)
    def get_ci_log(request: Request, run_id: str) -> str:
        record, log = _call(lambda: runs.get_run(store, run_id))
        rbac.require(identity(request), "ci-runs", "logs", _run_object(record))
        return log

    @app.get("/api/ci/approvals")
    def approvals(request: Request, run: str | None = None) -> list[dict[str, Any]]:
        who = identity(request)
        found = []
        for w in ci_coord.waiting(store, run):
            record = runs.get_run(store, str(w["run"]))[0]
            if rbac.allowed(who, "ci-runs", "get", _run_object(record)):
                found.append(w)
        return found

    @app.post("/api/ci/runs/{run_id}/approve")
    def approve(request: Request, run_id: str, review: Review) -> list[dict[str, Any]]:
        from shipway.ci.environments import decide

        who = identity(request)
        record, _log = _call(lambda: runs.get_run(store, run_id))
        obj = f"{run_pipeline(record)}/{review.environment}"
        rbac.require(who, "ci-runs", "approve", obj)
        return _call(lambda: decide(store, str(record["id"]), review.environment,
                                    not review.reject, who.name, review.comment))  # fmt: skip

    @app.get("/api/events")
    def events(
        request: Request,
        limit: int = 200,
        namespace: str | None = None,
        types: str = "",
        for_: str | None = Query(None, alias="for"),
    ) -> Any:
        rbac.require(identity(request), "events", "get", "*")
        if for_ is None and namespace is None and not types:
            return runs.events(store, limit=limit)  # the older shape: newest first
        flt = _event_filter(for_, namespace, types)
        found = store_events.query(store, namespace=flt.namespace, kind=flt.kind, name=flt.name,
                                   types=flt.types, limit=limit, newest=True)  # fmt: skip
        return event_list(found)

    @app.get("/api/events/stream")
    def events_stream(
        request: Request,
        namespace: str | None = None,
        types: str = "",
        since: int | None = None,
        heartbeat: float = Query(15.0, ge=0.05, le=300.0),
        for_: str | None = Query(None, alias="for"),
    ) -> StreamingResponse:
        rbac.require(identity(request), "events", "get", "*")
        flt = _event_filter(for_, namespace, types)
        last = request.headers.get("last-event-id", "").strip()
        if last and not last.isdigit():
            raise HTTPException(status_code=400, detail=f"Last-Event-ID {last!r}: not a number")
        after = int(last) if last else since
        body = sse.stream(store, after, flt, disconnected=request.is_disconnected,
                          heartbeat=heartbeat)  # fmt: skip
        return StreamingResponse(body, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})  # fmt: skip

    registry = metrics.registry_for(store)

    @app.get("/metrics")
    def prometheus_metrics(request: Request) -> Response:
        rbac.require(identity(request), "applications", "get", "*/*")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return rbac
