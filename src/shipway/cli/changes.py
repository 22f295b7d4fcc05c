"""What wakes a ``--watch``: the source's own signal that something changed, bounded.

A ``Feed`` answers ``wait(timeout)``: True as soon as the source says it
changed, False when ``timeout`` passed without a word. The watcher fetches its
list again after either, so a change no signal reports still shows within
``FALLBACK`` seconds. ``feed_for(ctx)`` picks the feed of where the command
reads:

- logged in to a controller: its event stream (``GET /api/events/stream``,
  server-sent events, ``shipway.cli.changes_sse``): every event wakes the
  watcher at once; if the stream cannot be had, the fixed ``FALLBACK`` poll;
- the local SQLite store: ``PRAGMA data_version`` (``changes_sqlite``), which
  moves when any other connection commits, so any write (apply, sync, a
  release, a CI run, an event) wakes it; no table is read until it moves;
- another database (PostgreSQL): the database's own notifications
  (``changes_listen``: migration 0014's triggers ``pg_notify`` on every write
  of a watched table; the feed LISTENs on the ``tables`` the command reads),
  with the event stream's newest position (``changes_seq``: ``max(seq)``, one
  indexed query) read every ``shipway.store.listen.FALLBACK_POLL`` seconds in
  case a notification is lost.

The feeds are built before the first fetch, so a change between that fetch
and the first ``wait`` is not missed. May touch: nothing itself (see the feeds).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import click

FALLBACK = 5.0
"""Seconds a watcher waits at most for a signal before it fetches again anyway
(``SHIPWAY_WATCH_FALLBACK`` sets another bound)."""
TICK = 0.1
"""Seconds between two checks of a cheap local signal (a pragma, one indexed query)."""


def fallback() -> float:
    """``FALLBACK``, or the seconds ``SHIPWAY_WATCH_FALLBACK`` says (a bad value: the default)."""
    import os

    try:
        value = float(os.environ.get("SHIPWAY_WATCH_FALLBACK", "") or FALLBACK)
    except ValueError:
        return FALLBACK
    return value if value > 0 else FALLBACK


class Feed(Protocol):
    """A source's change signal."""

    def wait(self, timeout: float) -> bool:
        """True once something changed since the last call (or since built), else after
        ``timeout`` seconds False."""
        ...

    def close(self) -> None: ...


class Polled:
    """A feed that reads a cheap token every ``tick`` seconds: a changed token is a change.
    Subclasses set ``tick`` and ``last`` (the token when built) and read it in ``token()``."""

    tick: float
    last: object

    def token(self) -> object:
        raise NotImplementedError

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            now = self.token()
            if now != self.last:
                self.last = now
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.tick, left))

    def close(self) -> None:
        pass


class Interval:
    """No signal: every wait lasts its whole timeout (the bounded fallback)."""

    def wait(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def close(self) -> None:
        pass


def feed_for(ctx: click.Context, server: str | None = None, *, local: bool = False,
             tables: Sequence[str] = ("events",)) -> Feed:  # fmt: skip
    """The feed of what the command reads: the controller it is logged in to, or the store
    (only the store with ``local``: a command that never goes to a controller); ``tables``:
    the store's tables the command lists (PostgreSQL wakes it on their changes)."""
    from shipway.cli import remote

    target = None if local else remote.target(ctx, server)
    if target is not None:
        from shipway.cli.changes_sse import SseFeed

        return SseFeed(target)
    from shipway.cli.context import state_from
    from shipway.store import reads

    settings = state_from(ctx).settings
    path = reads.sqlite_file(settings.db_url)
    if path is not None:
        from shipway.cli.changes_sqlite import DataVersionFeed

        return DataVersionFeed(path)
    if settings.db_url.startswith("sqlite"):  # in memory: nobody else writes it
        return Interval()
    from shipway.cli.changes_listen import ListenFeed

    return ListenFeed(state_from(ctx).reader, settings.db_url, tables)
