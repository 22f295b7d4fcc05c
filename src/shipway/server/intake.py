"""The async accept path of ``/hooks/git`` and ``/hooks/forge``: no thread held per request.

A hook's checks (parse, token or signature) are CPU work of microseconds, so
they run on the event loop (a body over ``INLINE_BYTES`` is checked on the
thread pool instead, not to stall the loop). What waits then waits on a
future, not on a thread: whether the push was told before
(``inbox.seen_future``: one query for every hook that asked meanwhile, so a
database across the network never stalls the loop), the git server's refs
(``Tips.future``: a look-up that started after the push came) and the
commit of the event to the durable inbox (``inbox.put_future``: the inbox's
group-commit writer, one transaction for every event that came meanwhile).
The 202 is sent once that commit returned. Recording a refused push
(``PushNotTip``, a store write) runs on the thread pool. Errors are the
``accept`` module's (``ShipwayError``s), answered 401/400/409/503 with the
reason as ``{"detail": ...}`` (``refused``), never a 500.

``FastHooks`` serves ``POST /hooks/git`` and ``POST /hooks/forge`` as a plain
ASGI app, before the framework's routing, dependency solving and exception
layers (which cost more CPU than the hook itself): it sits inside the body
limit (413) and the webhook counter, and outside the credential middleware,
which lets hooks through to authenticate themselves (as here: the repository
token, the signature). Another method on those paths is a 405. While hooks
are in flight ``Receiver.quiet`` is clear: the controller's lanes wait (a
little) before taking their next item, so a burst of hooks is accepted first
and drained after (``controller.workers``). Touches what
``controller.accept`` touches.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from shipway.controller import accept
from shipway.controller.accept import Answer, Ready, Receiver
from shipway.git import webhooks
from shipway.model.errors import ConflictError, InputError, ShipwayError
from shipway.store import inbox

INLINE_BYTES = 256 * 1024
"""Bodies up to this size are checked on the event loop."""

T = TypeVar("T")

on_phases: Callable[[tuple[float, float, float, float, float]], None] | None = None
"""When set (``bench/webhooks.py --phases``), called for every new git push accepted with the
``time.perf_counter()`` of its start, parsed, told-before answered, tips answered, committed."""


async def _checked(raw: bytes, check: Callable[[], T]) -> T:
    return check() if len(raw) <= INLINE_BYTES else await run_in_threadpool(check)


async def commit(rx: Receiver, ready: Ready) -> Answer:
    """Into the inbox (waiting for the group commit, on no thread), then the answer."""
    put = inbox.put_future(rx.store, ready.kind, ready.payload, ready.dedupe)
    return accept.answered(rx, ready, await asyncio.wrap_future(put))


async def git_push(rx: Receiver, raw: bytes, headers: Mapping[str, str]) -> Answer:
    """``POST /hooks/git``: parse and token, told before?, every pushed sha checked at the git
    server (401, 400, 409, 503 as errors), then the inbox."""
    t0 = time.perf_counter()
    pending = await _checked(raw, lambda: accept.git_push_parsed(rx, raw, headers))
    t1 = time.perf_counter()
    if await asyncio.wrap_future(inbox.seen_future(rx.store, pending.dedupe)):
        return accept.DUPLICATE_PUSH  # told before, and checked then: nothing new
    t2 = time.perf_counter()
    live = accept.live(pending)
    refs = await asyncio.wrap_future(rx.tips.future(pending.push.repo)) if live else {}
    t3 = time.perf_counter()
    reason = accept.not_tip(pending, refs)
    if reason is not None:
        raise await run_in_threadpool(accept.refuse, rx, pending, reason)
    answer = await commit(rx, accept.push_ready(pending))
    if on_phases is not None:
        on_phases((t0, t1, t2, t3, time.perf_counter()))
    return answer


async def forge(rx: Receiver, raw: bytes, headers: Mapping[str, str]) -> Answer:
    """``POST /hooks/forge``, as ``accept.forge``."""
    got = await _checked(raw, lambda: accept.forge_checked(rx, raw, headers))
    return got if isinstance(got, tuple) else await commit(rx, got)


def refused(exc: ShipwayError) -> tuple[int, str]:
    """A hook's error as its status and reason: 401, 400, 409, else 503 (git server, store)."""
    if isinstance(exc, webhooks.WebhookAuthError):
        return 401, str(exc)
    if isinstance(exc, InputError):
        return 400, str(exc)
    if isinstance(exc, ConflictError):
        return 409, str(exc)
    return 503, str(exc)


Handler = Callable[[Receiver, bytes, Mapping[str, str]], Awaitable[Answer]]
ROUTES: dict[str, Handler] = {"/hooks/git": git_push, "/hooks/forge": forge}


def _json(status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
          ) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(data)).encode()), *(extra or [])]  # fmt: skip
    return ({"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": data})  # fmt: skip


class FastHooks:
    """ASGI middleware: the git and forge hooks answered here (see the module)."""

    def __init__(self, app: Any, receiver: Receiver) -> None:
        self.app, self.receiver = app, receiver

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        handler = ROUTES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            start, body = _json(405, {"detail": "Method Not Allowed"}, [(b"allow", b"POST")])
        else:
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            headers = {k.decode("latin-1"): v.decode("latin-1")  # ASGI names are lower case
                       for k, v in scope.get("headers") or []}  # fmt: skip
            self.receiver.began()
            try:
                status, answer = await handler(self.receiver, b"".join(chunks), headers)
            except ShipwayError as exc:
                status, reason = refused(exc)
                answer = {"detail": reason}
            finally:
                self.receiver.ended()
            start, body = _json(status, answer)
        await send(start)
        await send(body)
