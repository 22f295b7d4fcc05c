"""Who is calling: every route but ``/healthz``, the hooks and the login page needs a token.

``install`` adds a middleware that runs before any route: ``/healthz``
passes; ``/hooks/...`` and Flux Receivers' ``/hook/<sha256 hex>`` pass to
their own receivers, which check their own per-source tokens and signatures;
``POST /api/session`` and ``/api/v1/session`` (a username and password for a
session token), the login form and the UI's static files pass to their
routes; every other path, including ones no route serves, needs
``Authorization: Bearer <token>`` of a local account or the UI's session
cookie (``shipway.server.ui.session``), else 401 with the reason; a UI page
(any path outside ``/api``, ``/hooks``, ``/hook`` and ``/metrics``) sends the
browser to the login page instead, which brings it back. A
cookie-authenticated request that changes something needs the session's CSRF
token (``X-CSRF-Token``, or the ``csrf`` field of a UI form, which the UI's
form routes check). The identity is left in ``request.state.identity`` for
the routes' RBAC checks. The check is a plain ASGI middleware
(``RequireCredential``).
"""

from __future__ import annotations

import re
from typing import Any

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
    return not any(path == p or path.startswith(p + "/")
                   for p in ("/api", "/hooks", "/hook", "/metrics"))  # fmt: skip


def _static(path: str) -> bool:
    return path.startswith("/static/") and ".." not in path.split("/")


def _hook(path: str) -> bool:
    """A webhook receiver's path (they authenticate by source); no ``..`` tricks."""
    parts = path.split("/")
    if path.startswith("/hook/"):  # a Flux Receiver: /hook/<64 hex>, the path is its credential
        return len(parts) == 3 and re.fullmatch(r"[0-9a-f]{64}", parts[2]) is not None
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


class RequireCredential:
    """A plain ASGI middleware (no per-request task group, as ``@app.middleware`` makes)."""

    def __init__(self, app: Any, store: Store) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if (scope["method"], path) in OPEN or _hook(path) or _static(path):
            await self.app(scope, receive, send)
            return
        response = await self.check(Request(scope), scope)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def check(self, request: Request, scope: Any) -> Response | None:
        """The response refusing the request, or None (its identity is then in the scope)."""
        path = scope["path"]
        token = bearer(request)
        cookie = "" if token else request.cookies.get(session.COOKIE, "")
        page = ui_page(path)
        if not token and not cookie:
            if page:
                return RedirectResponse(session.login_url(request), status_code=303)
            return unauthorized("credential required: Authorization: Bearer <token>")
        try:
            who = await run_in_threadpool(accounts.authenticate, self.store, token or cookie)
        except UnauthenticatedError as exc:
            if page and cookie:  # an expired session: sign in again, then come back
                gone = RedirectResponse(session.login_url(request), status_code=303)
                gone.delete_cookie(session.COOKIE, path="/")
                return gone
            return unauthorized(str(exc))
        state = scope.setdefault("state", {})
        state["identity"] = who  # request.state.identity
        state["session_token"] = cookie
        if cookie and scope["method"] not in session.SAFE:
            given = request.headers.get(session.HEADER, "")
            form = request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data"))  # fmt: skip
            # a UI form's ``csrf`` field is checked by its route (ui.forms.checked)
            if not session.csrf_ok(cookie, given) and not (page and form and not given):
                return JSONResponse({"error": "CSRF token missing or wrong", "code": 403},
                                    status_code=403)  # fmt: skip
        return None


def install(app: FastAPI, store: Store) -> None:
    app.add_middleware(RequireCredential, store=store)

    @app.exception_handler(AccessError)
    async def access_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, PermissionDeniedError):
            return JSONResponse({"error": str(exc), "code": 403}, status_code=403)
        return unauthorized(str(exc))
