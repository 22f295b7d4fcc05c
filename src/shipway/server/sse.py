"""The event stream as server-sent events (``GET /api/events/stream``).

Each stored event (a repeat too: it takes a new ``seq``) is one SSE message:
``id: <seq>`` and ``data: <the v1 Event as JSON>``. A client that reconnects
with ``Last-Event-ID: N`` (as a browser's ``EventSource`` does) gets every
event after N, then the live ones; without it the stream starts with what is
new (``?since=0`` replays everything). A comment line (``: heartbeat``) goes
out every ``heartbeat`` seconds so proxies and clients know the stream is
alive. On PostgreSQL the stream waits for the database's notification that
``events`` changed (``Store.listener()``, ``shipway.store.listen``: one
LISTENing connection for the process, however many streams) and then reads
``max(seq)``; it also reads it every ``FALLBACK_POLL`` seconds, in case a
notification is lost. On SQLite it reads ``max(seq)`` every ``poll`` seconds.
Either way whether the client went away is asked every ``poll`` seconds.
Touches the store read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from shipway.model.events import Event
from shipway.store import events as store_events
from shipway.store.db import Store
from shipway.store.listen import FALLBACK_POLL

BATCH = 500


@dataclass(frozen=True)
class Filter:
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    types: Sequence[str] = ()


def message(ev: Event) -> str:
    return f"id: {ev.seq}\ndata: {json.dumps(ev.to_dict(), separators=(',', ':'))}\n\n"


def _page(store: Store, flt: Filter, after: int, upto: int) -> list[Event]:
    return store_events.query(store, namespace=flt.namespace, kind=flt.kind, name=flt.name,
                              types=flt.types, after=after, upto=upto, limit=BATCH)  # fmt: skip


async def stream(
    store: Store,
    after: int | None,
    flt: Filter,
    *,
    disconnected: Callable[[], Awaitable[bool]],
    heartbeat: float = 15.0,
    poll: float = 0.25,
) -> AsyncIterator[str]:
    """SSE text: ``retry:``, then the events after ``after`` (None: from now), forever."""
    cursor = after if after is not None else await run_in_threadpool(store_events.last_seq, store)
    listener = await run_in_threadpool(store.listener)
    woke = asyncio.Event()
    every = poll
    unsubscribe: Callable[[], None] | None = None
    if listener is not None:
        loop = asyncio.get_running_loop()

        def told(_table: str) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: the stream is over
                loop.call_soon_threadsafe(woke.set)

        unsubscribe = listener.subscribe(("events",), told)
        every = FALLBACK_POLL
    try:
        yield "retry: 2000\n\n"
        beat = time.monotonic()
        due = 0.0
        while True:
            if woke.is_set() or time.monotonic() >= due:
                woke.clear()  # before reading: a notification from now on wakes again
                due = time.monotonic() + every
                newest = await run_in_threadpool(store_events.last_seq, store)
                while newest > cursor:
                    found = await run_in_threadpool(_page, store, flt, cursor, newest)
                    for ev in found:
                        yield message(ev)
                    # filtered-out events move the cursor too (up to the newest seen)
                    cursor = found[-1].seq if len(found) == BATCH else newest
                    beat = time.monotonic()
            if await disconnected():
                return
            if time.monotonic() - beat >= heartbeat:
                yield ": heartbeat\n\n"
                beat = time.monotonic()
            left = min(poll, max(due - time.monotonic(), 0.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woke.wait(), timeout=left)
    finally:
        if unsubscribe is not None:
            unsubscribe()
