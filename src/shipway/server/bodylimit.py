"""A small ASGI middleware that refuses request bodies over a size limit (413).

GitHub never delivers a webhook payload over 25 MiB, so that is the default
(``SHIPWAY_MAX_BODY_BYTES``). A ``Content-Length`` over the limit is refused
before anything is read; a body sent without one (chunked) is counted as it
arrives and refused as soon as it crosses the limit, so the controller never
holds more than the limit of one request in memory. Touches nothing but
the ASGI messages of the requests it wraps.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shipway.model import bounded

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Wraps an ASGI app; ``max_bytes`` defaults to ``bounded.max_body_bytes()``."""

    def __init__(self, app: ASGIApp, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = bounded.max_body_bytes() if max_bytes is None else max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                await self._refuse(send, total, at_least=True)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: int, at_least: bool = False) -> None:
        err = bounded.size_error(size, self.max_bytes, "request", what="body",
                                 variable="SHIPWAY_MAX_BODY_BYTES")  # fmt: skip
        detail = err.message
        if at_least:
            detail = detail.replace("body is ", "body is at least ", 1)
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def install(app: Any) -> None:
    """Register the limit on a Starlette/FastAPI ``app`` (outermost, so it runs first)."""
    app.add_middleware(BodyLimit)
