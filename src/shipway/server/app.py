"""The controller's HTTP face: webhook receivers and a small read API.

Routes:
- ``POST /hooks/git``: a git server's post-receive hook (``shipway.controller.hooks``).
- ``POST /hooks/forge``: GitHub, GitLab and Gitea webhooks (push, pull/merge
  request), checked against ``SHIPWAY_WEBHOOK_SECRET`` when it is set.
- ``POST /hooks/registry``: registry notifications (CNCF distribution envelopes and
  the other shapes the updater parses).
- ``GET /healthz``, ``GET /api/releases[?app=]``, ``GET /api/releases/{id}``,
  ``GET /api/events``, ``GET /api/ci/runs``, ``GET /api/ci/runs/{id}`` (the run
  record) and ``GET /api/ci/runs/{id}/log`` (its masked log, as text).
Handlers answer at once (202) and leave the work to the controller's workers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from shipway.controller.core import Controller
from shipway.controller.hooks import parse_git_push
from shipway.git import webhooks
from shipway.model import bounded
from shipway.model.errors import InputError, NotFoundError
from shipway.server import bodylimit
from shipway.store import releases, runs


def create_app(controller: Controller) -> FastAPI:
    app = FastAPI(title="shipway controller", version="0.1.0")
    bodylimit.install(app)  # webhook bodies over SHIPWAY_MAX_BODY_BYTES get 413

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

    @app.get("/api/releases")
    def list_releases(app_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        rels = releases.list_releases(controller.store, app=app_name, limit=limit)
        return [r.to_dict() for r in rels]

    @app.get("/api/releases/{release_id}")
    def get_release(release_id: str) -> JSONResponse:
        try:
            return JSONResponse(releases.get(controller.store, release_id).to_dict())
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    @app.get("/api/ci/runs")
    def list_ci_runs(limit: int = 50) -> list[dict[str, Any]]:
        return runs.list_runs(controller.store, limit=limit)

    @app.get("/api/ci/runs/{run_id}")
    def get_ci_run(run_id: str) -> JSONResponse:
        try:
            return JSONResponse(runs.get_run(controller.store, run_id)[0])
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    @app.get("/api/ci/runs/{run_id}/log", response_class=PlainTextResponse)
    def get_ci_log(run_id: str) -> str:
        try:
            return runs.get_run(controller.store, run_id)[1]
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    @app.get("/api/events")
    def events(limit: int = 200) -> list[dict[str, Any]]:
        return runs.events(controller.store, limit=limit)

    return app
