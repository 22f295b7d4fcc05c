"""The controller's HTTP face: webhook receivers and a small read API.

Routes:
- ``POST /hooks/git``: a git server's post-receive hook (``shipway.controller.hooks``),
  with the repository's token; every pushed sha is checked at the git server (409).
- ``POST /hooks/forge``: GitHub, GitLab and Gitea webhooks (push, pull/merge
  request), signed with ``SHIPWAY_WEBHOOK_SECRET`` (else the controller's own);
  a delivery id seen before is acknowledged (200) and ignored.
- ``POST /hooks/registry``: registry notifications (CNCF distribution envelopes and
  the other shapes the updater parses), with the registry token.
- ``POST /hooks/tekton/<namespace>/<listener>``: a Tekton EventListener's URL
  (``shipway.controller.tekton_hook``): its token, the forge's signature, or its
  github/gitlab/bitbucket interceptors' ``secretRef`` (of any trigger it serves); 404 for
  no such EventListener.
- ``POST /hook/<digest>``: Flux ``Receiver`` webhooks at Flux's path
  (``shipway.controller.flux_receiver``): 200 when accepted, 404 for no such Receiver.
- ``GET /healthz``: open to all.
- ``GET /metrics``: Prometheus metrics (``shipway.server.metrics``), with a token.
- ``/api/v1/...``: the read, review and action API (``shipway.server.api``,
  ``shipway.server.v1``; every ``/api/X`` route is also ``/api/v1/X``, ``/api/X``
  kept as an alias), behind a bearer token of a local account or the UI's session
  cookie, and RBAC (``shipway.server.auth``, ``shipway.auth``); its OpenAPI
  document at ``/api/v1/openapi.json`` and a plain page of it at ``/api/v1/docs``.
- ``/``, ``/login``, ``/applications``...: the web UI (``shipway.server.ui``).
``POST /hooks/git`` and ``/hooks/forge`` are served as plain ASGI ahead of the
framework's routing (``server.intake.FastHooks``). Hook handlers
(``controller.accept``) answer 202 once the event is in the durable inbox and
leave the work to the controller's workers; a malformed body is a 400 with the
reason, never a 500. Anything else needs a credential, then is 404
(a page of the UI sends the browser to the login page first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from shipway.controller import accept, flux_receiver
from shipway.controller import tekton_hook as tekton_listener
from shipway.controller.core import Controller
from shipway.model.errors import NotFoundError, ShipwayError
from shipway.server import api, auth, bodylimit, intake, metrics, ui, v1


def refused(exc: ShipwayError) -> HTTPException:
    """A hook's error as its status: 401/400/409/503 with the reason, never a 500."""
    status, reason = intake.refused(exc)
    return HTTPException(status_code=status, detail=reason)


def create_app(controller: Controller) -> FastAPI:
    app = FastAPI(title="shipway controller", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    auth.install(app, controller.store)
    rx = controller.receiver
    # /hooks/git and /hooks/forge: plain ASGI, inside the body limit and the counter
    app.add_middleware(intake.FastHooks, receiver=rx)
    bodylimit.install(app)  # outermost: bodies over SHIPWAY_MAX_BODY_BYTES get 413 first
    metrics.install_webhook_counter(app, controller.store)  # outside that: counts the 413s too

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def hook(fn: Callable[[], Any]) -> Any:
        """Run an ``accept`` function: 401/400/409/503 with the reason, never a 500."""
        try:
            return fn()
        except ShipwayError as exc:
            raise refused(exc) from exc

    def answer(got: tuple[int, dict[str, Any]]) -> JSONResponse:
        return JSONResponse(got[1], status_code=got[0])

    @app.post("/hooks/registry", status_code=202)
    async def registry_hook(request: Request) -> JSONResponse:
        raw = await request.body()
        query = dict(request.query_params)
        got = await run_in_threadpool(
            hook, lambda: accept.registry(rx, raw, request.headers, query)
        )
        return answer(got)

    @app.post("/hooks/tekton/{namespace}/{listener}", status_code=202)
    async def tekton_hook(namespace: str, listener: str, request: Request) -> JSONResponse:
        """A Tekton EventListener's sink: its triggers run on the controller's workers."""
        raw = await request.body()

        def run() -> tuple[int, dict[str, Any]]:
            try:
                return tekton_listener.receive(rx, namespace, listener, raw, request.headers)
            except NotFoundError as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from exc

        return answer(await run_in_threadpool(hook, run))

    @app.post("/hook/{digest}")
    async def flux_receiver_hook(digest: str, request: Request) -> JSONResponse:
        """A Flux ``Receiver`` (``notification.toolkit.fluxcd.io/v1``) at Flux's own path."""
        raw = await request.body()

        def run() -> tuple[int, dict[str, Any]]:
            try:
                return flux_receiver.receive(rx, digest, raw, request.headers)
            except NotFoundError as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from exc

        return answer(await run_in_threadpool(hook, run))

    rbac = api.install(app, controller.store)
    v1.version(app)  # every /api/X route also as /api/v1/X (before v1's own routes)
    v1.install(app, controller.store, rbac, controller.settings)
    ui.install(app, controller.store, rbac, controller.settings)
    return app
