"""PostgreSQL's change notifications: one connection LISTENing on the watched tables' channels.

Migration 0014 makes the database itself ``pg_notify('shipway_<table>', '')``
after every statement that writes ``events``, ``resources``, ``releases`` or
``ci_runs``. A ``Listener`` holds one autocommit psycopg connection that
LISTENs on the channels of the tables it is given, read by a daemon thread
(``notifies()``); each notification bumps its table's mark and wakes whoever
waits: a thread through ``wait`` (the CLI's watches, ``shipway.cli.changes``),
an event loop through a ``subscribe``d callback (the controller's event
stream, ``shipway.server.sse``). A lost connection is opened again every
``RETRY`` seconds; once it is back every mark moves (what was written
meanwhile was not told). Nothing here is needed for correctness: callers
keep a slow poll of their own (``FALLBACK_POLL``) for a connection that is
down or a notification that never comes (a trigger dropped).
May touch: the database, LISTEN only (no table is read).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

TABLES = ("events", "resources", "releases", "ci_runs")
"""The tables migration 0014 puts a notifying trigger on."""
RETRY = 2.0
"""Seconds between two attempts to open a lost listening connection."""
FALLBACK_POLL = 2.0
"""Seconds between a listening caller's own checks of the store, in case a notification is lost."""
_SLICE = 0.5  # the reading thread looks up from ``notifies()`` this often, to see it should stop


def channel(table: str) -> str:
    """The channel 0014's trigger on ``table`` notifies."""
    return f"shipway_{table}"


def conninfo(url: str) -> str:
    """A libpq connection string of a database URL as SQLAlchemy takes it (any driver)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


Callback = Callable[[str], None]


class Listener:
    """Marks per table that move on every notification (see the module)."""

    def __init__(self, url: str, tables: Iterable[str] = TABLES, *, ready: float = 5.0,
                 retry: float = RETRY) -> None:  # fmt: skip
        self.conninfo = conninfo(url)
        self.tables = tuple(t for t in tables if t in TABLES)
        self.retry = retry
        self._marks = dict.fromkeys(self.tables, 0)
        self._changed = threading.Condition()
        self._callbacks: dict[int, tuple[frozenset[str], Callback]] = {}
        self._next_id = 0
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self.connected = False
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="shipway-listen", daemon=True)
        self._thread.start()
        self._ready.wait(ready)  # LISTENing (or failed once) before the caller's first read

    # -- what callers use --------------------------------------------------------------------

    def mark(self, tables: Iterable[str]) -> int:
        """A number that moves whenever one of ``tables`` was told to have changed."""
        with self._changed:
            return sum(self._marks.get(t, 0) for t in tables)

    def wait(self, tables: Sequence[str], seen: int, timeout: float) -> int:
        """``mark(tables)`` once it differs from ``seen``, or after ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._sum(tables) != seen, timeout=max(timeout, 0.0))
            return self._sum(tables)

    def subscribe(self, tables: Iterable[str], callback: Callback) -> Callable[[], None]:
        """Call ``callback(table)`` (on the listener's thread) for each change told of one of
        ``tables``; returns what undoes it."""
        with self._changed:
            key, self._next_id = self._next_id, self._next_id + 1
            self._callbacks[key] = (frozenset(tables), callback)

        def unsubscribe() -> None:
            with self._changed:
                self._callbacks.pop(key, None)

        return unsubscribe

    def close(self, wait: float = 0.0) -> None:
        """Stop listening; the thread closes the connection within half a second."""
        self._stopping.set()
        if wait > 0:
            self._thread.join(wait)

    # -- the reading thread ------------------------------------------------------------------

    def _sum(self, tables: Iterable[str]) -> int:
        return sum(self._marks.get(t, 0) for t in tables)

    def _bump(self, tables: Iterable[str]) -> None:
        told = [t for t in tables if t in self._marks]
        with self._changed:
            for t in told:
                self._marks[t] += 1
            self._changed.notify_all()
            callbacks = list(self._callbacks.values())
        for wanted, callback in callbacks:
            for t in told:
                if t in wanted:
                    try:
                        callback(t)
                    except Exception:  # a subscriber's failure is its own
                        log.exception("change callback failed")
                    break

    def _connect(self) -> psycopg.Connection[object]:
        import psycopg

        conn: psycopg.Connection[object] = psycopg.connect(
            self.conninfo, autocommit=True, connect_timeout=10
        )
        try:
            for t in self.tables:
                conn.execute(f"LISTEN {channel(t)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self) -> None:
        import psycopg

        by_channel = {channel(t): t for t in self.tables}
        lost = False
        while not self._stopping.is_set():
            try:
                conn = self._connect()
            except psycopg.Error as exc:
                self.errors += 1
                log.debug("cannot listen for changes: %s", exc)
                lost = True
                self._ready.set()
                self._stopping.wait(self.retry)
                continue
            self.connected = True
            self._ready.set()
            if lost:  # what was written while no one listened was not told
                self._bump(self.tables)
            try:
                while not self._stopping.is_set():
                    for n in conn.notifies(timeout=_SLICE):  # each one as it arrives
                        if n.channel in by_channel:
                            self._bump((by_channel[n.channel],))
            except psycopg.Error as exc:
                self.errors += 1
                log.debug("listening connection lost: %s", exc)
                lost = True
            finally:
                self.connected = False
                with contextlib.suppress(psycopg.Error):
                    conn.close()
            if not self._stopping.is_set():
                self._stopping.wait(self.retry)
