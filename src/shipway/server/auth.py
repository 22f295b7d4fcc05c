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
from collections.abc import Awaitable, Callable

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


def install(app: FastAPI, store: Store) -> None:
    @app.middleware("http")
    async def require_credential(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if (request.method, path) in OPEN or _hook(path):
            return await call_next(request)
        token = bearer(request)
        if not token:
            return unauthorized("credential required: Authorization: Bearer <token>")
        try:
            request.state.identity = await run_in_threadpool(accounts.authenticate, store, token)
        except UnauthenticatedError as exc:
            return unauthorized(str(exc))
        return await call_next(request)

    @app.exception_handler(AccessError)
    async def access_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, PermissionDeniedError):
            return JSONResponse({"error": str(exc), "code": 403}, status_code=403)
        return unauthorized(str(exc))
