"""Who is calling: every route but ``/healthz``, the hooks and the login page needs a token.

``install`` adds a middleware that runs before any route: ``/healthz``
passes; ``/hooks/...`` pass to their own receivers, which check their own
per-source tokens and signatures; ``POST /api/session`` and ``/api/v1/session``
(a username and password for a session token), the login form and the UI's
static files pass to their routes; every other path, including ones no route
serves, needs ``Authorization: Bearer <token>`` of a local account or the UI's
session cookie (``shipway.server.ui.session``), else 401 with the reason; a UI
page (any path outside ``/api``, ``/hooks`` and ``/metrics``) sends the browser
to the login page instead, which brings it back. A cookie-authenticated request
that changes something needs the session's CSRF token (``X-CSRF-Token``, or
the ``csrf`` field of a UI form, which the UI's form routes check). The
identity is left in ``request.state.identity`` for the routes' RBAC checks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from shipway.auth import accounts
from shipway.auth.accounts import Identity
from shipway.model.errors import AccessError, PermissionDeniedError, UnauthenticatedError
from shipway.server import session
from shipway.store.db import Store

OPEN = frozenset({("GET", "/healthz"), ("HEAD", "/healthz"), ("POST", "/api/session"),
                  ("POST", "/api/v1/session"), ("GET", "/login"), ("POST", "/login"),
                  ("GET", "/favicon.ico")})  # fmt: skip


def ui_page(path: str) -> bool:
    """A path of the web UI (pages and their form posts), not of the API or the hooks."""
    return not any(path == p or path.startswith(p + "/") for p in ("/api", "/hooks", "/metrics"))


def _static(path: str) -> bool:
    return path.startswith("/static/") and ".." not in path.split("/")


def _hook(path: str) -> bool:
    """A webhook receiver's path (they authenticate by source); no ``..`` tricks."""
    parts = path.split("/")
    return path.startswith("/hooks/") and ".." not in parts and "." not in parts


def unauthorized(message: str) -> JSONResponse:
    return JSONResponse({"error": message, "code": 401}, status_code=401,
                        headers={"WWW-Authenticate": 'Bearer realm="shipway"'})  # fmt: skip


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def identity(request: Request) -> Identity:
    who = getattr(request.state, "identity", None)
    if not isinstance(who, Identity):  # the middleware lets no such request through
        raise UnauthenticatedError("no credential", subject=request.url.path)
    return who


def install(app: FastAPI, store: Store) -> None:
    @app.middleware("http")
    async def require_credential(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if (request.method, path) in OPEN or _hook(path) or _static(path):
            return await call_next(request)
        token = bearer(request)
        cookie = "" if token else request.cookies.get(session.COOKIE, "")
        page = ui_page(path)
        if not token and not cookie:
            if page:
                return RedirectResponse(session.login_url(request), status_code=303)
            return unauthorized("credential required: Authorization: Bearer <token>")
        try:
            who = await run_in_threadpool(accounts.authenticate, store, token or cookie)
        except UnauthenticatedError as exc:
            if page and cookie:  # an expired session: sign in again, then come back
                gone = RedirectResponse(session.login_url(request), status_code=303)
                gone.delete_cookie(session.COOKIE, path="/")
                return gone
            return unauthorized(str(exc))
        request.state.identity = who
        request.state.session_token = cookie
        if cookie and request.method not in session.SAFE:
            given = request.headers.get(session.HEADER, "")
            form = request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data"))  # fmt: skip
            # a UI form's ``csrf`` field is checked by its route (ui.forms.checked)
            if not session.csrf_ok(cookie, given) and not (page and form and not given):
                return JSONResponse({"error": "CSRF token missing or wrong", "code": 403},
                                    status_code=403)  # fmt: skip
        return await call_next(request)

    @app.exception_handler(AccessError)
    async def access_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, PermissionDeniedError):
            return JSONResponse({"error": str(exc), "code": 403}, status_code=403)
        return unauthorized(str(exc))
