"""The controller's HTTP face: webhook receivers and a small read API.

Routes:
- ``POST /hooks/git``: a git server's post-receive hook (``shipway.controller.hooks``).
- ``POST /hooks/forge``: GitHub, GitLab and Gitea webhooks (push, pull/merge
  request), checked against ``SHIPWAY_WEBHOOK_SECRET`` when it is set.
- ``POST /hooks/registry``: registry notifications (CNCF distribution envelopes and
  the other shapes the updater parses).
- ``GET /healthz``: open to all.
- ``GET /metrics``: Prometheus metrics (``shipway.server.metrics``), with a token.
- ``/api/...``: the read and review API (``shipway.server.api``), behind a bearer
  token of a local account and RBAC (``shipway.server.auth``, ``shipway.auth``).
Hook handlers answer at once (202) and leave the work to the controller's workers.
No other route is served (no OpenAPI pages): anything else needs a credential,
then is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request

from shipway.controller.core import Controller
from shipway.controller.hooks import parse_git_push
from shipway.git import webhooks
from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.server import api, auth, bodylimit, metrics


def create_app(controller: Controller) -> FastAPI:
    app = FastAPI(title="shipway controller", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    auth.install(app, controller.store)
    bodylimit.install(app)  # outermost: bodies over SHIPWAY_MAX_BODY_BYTES get 413 first
    metrics.install_webhook_counter(app, controller.store)  # outside that: counts the 413s too

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/hooks/git", status_code=202)
    async def git_hook(request: Request) -> dict[str, Any]:
        try:
            push = parse_git_push(bounded.load_json(await request.body(), "/hooks/git"))
        except (InputError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return controller.on_git_push(push) | {"accepted": True}

    @app.post("/hooks/forge", status_code=202)
    async def forge_hook(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            event = webhooks.parse(
                dict(request.headers), raw, secret=controller.settings.webhook_secret or None
            )
        except webhooks.WebhookAuthError as exc:
            raise HTTPException(status_code=401, detail=str(exc)) from exc
        except InputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return controller.on_forge_event(event) | {"event": event.kind, "accepted": True}

    @app.post("/hooks/registry", status_code=202)
    async def registry_hook(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            count = controller.on_registry_notification(raw, dict(request.headers))
        except InputError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return {"accepted": count}

    api.install(app, controller.store)
    return app
