"""Who is calling: every route but ``/healthz`` and the hooks needs a bearer token.

``install`` adds a middleware that runs before any route: ``/healthz``
passes; ``/hooks/...`` and Flux Receivers' ``/hook/<sha256 hex>`` pass to
their own receivers, which check their own per-source tokens and signatures;
``POST /api/session`` (a username and password for a session token) passes
to its route; every other path,
including ones no route serves, needs ``Authorization: Bearer <token>`` of a
local account, else 401 with the reason. The identity is left in
``request.state.identity`` for the routes' RBAC checks.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from shipway.auth import accounts
from shipway.auth.accounts import Identity
from shipway.model.errors import AccessError, PermissionDeniedError, UnauthenticatedError
from shipway.store.db import Store

OPEN = frozenset({("GET", "/healthz"), ("HEAD", "/healthz"), ("POST", "/api/session")})


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
        if (scope["method"], path) in OPEN or _hook(path):
            await self.app(scope, receive, send)
            return
        token = bearer(Request(scope))
        if not token:
            response = unauthorized("credential required: Authorization: Bearer <token>")
            await response(scope, receive, send)
            return
        try:
            who = await run_in_threadpool(accounts.authenticate, self.store, token)
        except UnauthenticatedError as exc:
            await unauthorized(str(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["identity"] = who  # request.state.identity
        await self.app(scope, receive, send)


def install(app: FastAPI, store: Store) -> None:
    app.add_middleware(RequireCredential, store=store)

    @app.exception_handler(AccessError)
    async def access_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, PermissionDeniedError):
            return JSONResponse({"error": str(exc), "code": 403}, status_code=403)
        return unauthorized(str(exc))
