"""The versioned API: every ``/api/...`` route also under ``/api/v1/...``, described by OpenAPI.

``version`` adds each ``/api/X`` route again as ``/api/v1/X`` (the same handler,
the same RBAC), keeping ``/api/X`` as an alias for older clients (the CLI's remote
mode), out of the document. ``install`` adds what only v1 has: an application's
status, sync and rollback; promoting, approving, aborting and re-verifying
(``shipway.server.promoting``, the CLI's code paths) and a Stage's gates, as JSON; and
``/api/v1/openapi.json`` with ``/api/v1/docs``, a plain page listing every
operation (served by shipway: no CDN). Calls the engines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shipway.auth.policy import Authorizer
from shipway.deploy import engine, history
from shipway.model import namespaces
from shipway.model.resources import Resource
from shipway.server import promoting
from shipway.server.auth import identity
from shipway.server.ui import render
from shipway.server.ui.app_page import load_app
from shipway.settings import Settings
from shipway.store.db import Store

PREFIX = "/api/v1"


class SyncRequest(BaseModel):
    prune: bool | None = None
    dryRun: bool = False
    revision: str | None = None


class RollbackRequest(BaseModel):
    id: int | None = None
    prune: bool = False


class FreightBody(BaseModel):
    freight: str


def version(app: FastAPI) -> None:
    """``/api/X`` → also ``/api/v1/X`` (in the document); ``/api/X`` stays, undocumented."""
    for route in list(app.router.routes):
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        if route.path.startswith(PREFIX + "/"):
            continue
        app.add_api_route(
            PREFIX + route.path[len("/api") :],
            route.endpoint,
            methods=sorted(route.methods or ()),
            response_class=route.response_class,
            status_code=route.status_code,
            name=f"v1_{route.name}",
        )
        route.include_in_schema = False


def install(app: FastAPI, store: Store, rbac: Authorizer, settings: Settings) -> None:
    def load(request: Request, namespace: str, name: str, action: str) -> Resource:
        return load_app(store, rbac, request, namespace, name, action)

    async def act(
        request: Request, namespace: str, name: str, action: str, fn: Callable[[str], Any]
    ) -> dict[str, Any]:
        """Check ``action`` on the application, then run ``fn(key)`` off the event loop."""
        load(request, namespace, name, action)
        res = await run_in_threadpool(fn, namespaces.instance(namespace, name))
        return dict(res.to_dict())

    @app.get(PREFIX + "/applications/{namespace}/{name}")
    def get_app(request: Request, namespace: str, name: str) -> dict[str, Any]:
        return load(request, namespace, name, "get").to_object()

    @app.post(PREFIX + "/applications/{namespace}/{name}/sync")
    async def sync_app(
        request: Request, namespace: str, name: str, body: SyncRequest | None = None
    ) -> dict[str, Any]:
        body = body or SyncRequest()
        return await act(
            request,
            namespace,
            name,
            "sync",
            lambda key: engine.reconcile(
                store,
                key,
                revision=body.revision,
                prune=body.prune,
                dry_run=body.dryRun,
                unpin=body.revision is None,
                settings=settings,
            ),
        )

    @app.post(PREFIX + "/applications/{namespace}/{name}/rollback")
    async def rollback_app(
        request: Request, namespace: str, name: str, body: RollbackRequest | None = None
    ) -> dict[str, Any]:
        body = body or RollbackRequest()
        return await act(
            request,
            namespace,
            name,
            "rollback",
            lambda key: history.rollback(store, key, body.id, prune=body.prune, settings=settings),
        )

    @app.post(PREFIX + "/promotions/{project}/{stage}/promote", status_code=201)
    async def promote(
        request: Request, project: str, stage: str, body: FreightBody
    ) -> dict[str, Any]:
        """Promote Freight to the Stage (``shipway promote``): refused (409) with the reason
        while a window closes it, it is busy, or the Freight is not available to it."""
        who = identity(request)
        return await run_in_threadpool(
            promoting.promote, store, rbac, who, project, stage, body.freight
        )

    @app.post(PREFIX + "/promotions/{project}/{stage}/approve")
    async def approve(
        request: Request, project: str, stage: str, body: FreightBody
    ) -> dict[str, Any]:
        """Approve Freight for the Stage (``shipway approve``), under the signed-in user."""
        who = identity(request)
        return await run_in_threadpool(
            promoting.approve, store, rbac, who, project, stage, body.freight
        )

    @app.post(PREFIX + "/promotions/{project}/{stage}/verify", status_code=201)
    async def verify(request: Request, project: str, stage: str) -> dict[str, Any]:
        """Re-run the Stage's verification of the Freight it holds (``shipway stage verify``)."""
        who = identity(request)
        return await run_in_threadpool(promoting.verify, store, rbac, who, project, stage)

    @app.get(PREFIX + "/promotions/{project}/{stage}/gates")
    def stage_gates(request: Request, project: str, stage: str) -> dict[str, Any]:
        """The Stage's promotion window (open, reason, next opening) and promotion under way."""
        rbac.require(identity(request), "promotions", "get", f"{project}/{stage}")
        return promoting.gates(store, project, stage)

    @app.post(PREFIX + "/projects/{project}/promotions/{name}/abort")
    async def abort(request: Request, project: str, name: str) -> dict[str, Any]:
        """Abort a Pending or Running Promotion (``shipway promotion abort``); 409 once ended."""
        who = identity(request)
        return await run_in_threadpool(promoting.abort, store, rbac, who, project, name)

    @app.get(PREFIX + "/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get(PREFIX + "/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        doc = app.openapi()
        ops = [
            {
                "method": m.upper(),
                "path": p,
                "summary": o.get("summary", ""),
                "description": o.get("description", ""),
            }
            for p, item in sorted(doc.get("paths", {}).items())
            for m, o in item.items()
        ]
        return render.page(
            request,
            rbac,
            "docs.html",
            ops=ops,
            title=doc["info"]["title"],
            version=doc["info"]["version"],
        )
