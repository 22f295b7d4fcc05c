"""The web UI: server-rendered pages (Jinja2), a small script of our own, live over SSE.

``install`` adds the login form and session cookie (``session``), the pages
(``pages``, ``app_page``, ``promotions``, ``previews``), ``/static`` (package files only:
nothing from a CDN), and error pages: on a UI path a missing object is a 404
page, a refusal a 403 page, bad input a 400 page, each naming the reason, never
a traceback; a request from the page's script (``X-Requested-With``) gets the
message alone, which the script shows in the page. API paths keep their JSON
errors. Touches what its modules touch.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from shipway.auth.policy import Authorizer
from shipway.model.errors import (
    AccessError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ShipwayError,
)
from shipway.server import auth
from shipway.server.ui import app_page, pages, previews, promotions, render
from shipway.settings import Settings
from shipway.store.db import Store


def _error(request: Request, rbac: Authorizer, status: int, title: str, message: str) -> Response:
    if request.headers.get("x-requested-with") == "shipway":
        return HTMLResponse(
            f'<p class="error" role="alert">{_escape(message)}</p>', status_code=status
        )
    return render.page(
        request, rbac, "error.html", status_code=status, status=status, title=title, message=message
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def install(app: FastAPI, store: Store, rbac: Authorizer, settings: Settings) -> None:
    app.mount("/static", StaticFiles(directory=render.STATIC), name="static")
    pages.install_login(app, store, rbac)
    pages.install(app, store, rbac)
    app_page.install(app, store, rbac, settings)
    promotions.install(app, store, rbac)
    previews.install(app, store, rbac)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((render.STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if auth.ui_page(request.url.path):
            title = "Not found" if exc.status_code == 404 else "Error"
            message = (
                f"nothing at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
            )
            return _error(request, rbac, exc.status_code, title, message)
        return await http_exception_handler(request, exc)

    @app.exception_handler(AccessError)
    async def access(request: Request, exc: Exception) -> Response:
        denied = isinstance(exc, PermissionDeniedError)
        if auth.ui_page(request.url.path):
            return _error(request, rbac, 403 if denied else 401, "Not allowed", str(exc))
        if denied:
            return JSONResponse({"error": str(exc), "code": 403}, status_code=403)
        return auth.unauthorized(str(exc))

    codes: list[tuple[type[ShipwayError], int, str]] = [
        (NotFoundError, 404, "Not found"),
        (ConflictError, 409, "Conflict"),
        (InputError, 400, "Bad request"),
        (ShipwayError, 502, "Failed"),
    ]
    for cls, code, title in codes:

        async def handler(
            request: Request, exc: Exception, code: int = code, title: str = title
        ) -> Response:
            if auth.ui_page(request.url.path):
                return _error(request, rbac, code, title, str(exc))
            return JSONResponse({"error": str(exc), "code": code}, status_code=code)

        app.add_exception_handler(cls, handler)
