"""The watch feeds (``shipway.cli.changes``): each wakes on its source's signal, and only then."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from shipway.cli import changes
from shipway.cli.changes_seq import EventSeqFeed
from shipway.cli.changes_sqlite import DataVersionFeed
from shipway.cli.changes_sse import SseFeed
from shipway.cli.remote import Target
from shipway.store.reads import Reader


def _commit_later(path: Path, sql: str, delay: float = 0.3) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        conn = sqlite3.connect(path)
        with conn:
            conn.execute(sql)
        conn.close()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_data_version_wakes_on_another_connections_commit(tmp_path: Path) -> None:
    db = tmp_path / "shipway.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.commit()
    feed = DataVersionFeed(db, tick=0.02)
    try:
        assert feed.wait(0.2) is False  # nobody wrote
        _commit_later(db, "INSERT INTO t VALUES (1)").join()
        assert feed.wait(30) is True
        assert feed.wait(0.2) is False  # that change was told once
        t = _commit_later(db, "INSERT INTO t VALUES (2)")
        assert feed.wait(30) is True  # a wait already under way wakes
        t.join()
    finally:
        feed.close()
        conn.close()


def test_data_version_waits_for_a_database_not_created_yet(tmp_path: Path) -> None:
    db = tmp_path / "later.db"
    feed = DataVersionFeed(db, tick=0.02)
    assert feed.wait(0.1) is False
    _commit_later(db, "CREATE TABLE t (x INTEGER)", delay=0).join()
    assert feed.wait(30) is True
    feed.close()


def test_event_seq_wakes_when_an_event_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE events (seq INTEGER UNIQUE)")
    conn.commit()

    def run(sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        c = sqlite3.connect(db)
        try:
            return c.execute(sql, dict(params)).fetchall()
        finally:
            c.close()

    feed = EventSeqFeed(Reader(run), tick=0.02)
    assert feed.wait(0.1) is False
    _commit_later(db, "INSERT INTO events VALUES (1)", delay=0).join()
    assert feed.wait(30) is True and feed.last == 1
    assert feed.wait(0.1) is False
    conn.close()


def test_interval_feed_never_wakes_early() -> None:
    assert changes.Interval().wait(0.01) is False


@pytest.mark.parametrize(("value", "bound"), [("", 5.0), ("0.5", 0.5), ("x", 5.0), ("-1", 5.0)])
def test_fallback_bound(monkeypatch: pytest.MonkeyPatch, value: str, bound: float) -> None:
    monkeypatch.setenv("SHIPWAY_WATCH_FALLBACK", value)
    assert changes.fallback() == bound


class _Stream(BaseHTTPRequestHandler):
    """An event stream that sends one event per connection and drops it; 404 when told."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[str]] = []
    refuse = False

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Last-Event-ID", ""))
        if type(self).refuse:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        n = len(type(self).seen)
        body = f"retry: 2000\n\n: heartbeat\n\nid: {n}\ndata: {{}}\n\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


@pytest.fixture
def stream() -> Iterator[tuple[str, type[_Stream]]]:
    handler = type("Handler", (_Stream,), {"seen": [], "refuse": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_sse_feed_wakes_per_event_and_resumes_after_a_drop(stream) -> None:
    url, handler = stream
    feed = SseFeed(Target(url, "token"))
    try:
        assert feed.wait(30) is True  # the first connection's event (or its drop)
        deadline = time.monotonic() + 30
        while len(handler.seen) < 2 and time.monotonic() < deadline:
            assert feed.wait(30) is True  # a drop wakes too: what happened meanwhile
        assert handler.seen[:2] == ["", "1"]  # opened again, asking for what came after 1
        assert feed.refused is False
    finally:
        feed.close()


def test_sse_feed_refused_leaves_the_fallback(stream) -> None:
    url, handler = stream
    handler.refuse = True
    feed = SseFeed(Target(url, "token"))
    try:
        assert feed.refused is True
        assert feed.wait(0.1) is False
        assert handler.seen == [""]  # asked once, not again
    finally:
        feed.close()


def test_a_query_interrupted_by_ctrl_c_reads_as_the_interrupt() -> None:
    """A database error raised while Ctrl-C was handled (closing the cancelled query failed)
    ends a watch as the interrupt (exit 0), not as a database error (exit 5)."""
    from sqlalchemy import create_engine, event

    from shipway.store.reads import engine_reader

    engine = create_engine("sqlite://")

    @event.listens_for(engine, "before_cursor_execute")
    def interrupt(*_: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            from sqlalchemy.exc import OperationalError

            raise OperationalError("SELECT 1", {}, Exception("connection lost")) from None

    with pytest.raises(KeyboardInterrupt):
        engine_reader(engine).rows("SELECT 1")


@pytest.mark.parametrize(
    ("url", "conninfo"),
    [
        ("postgresql+psycopg://u:p%40ss@db:5433/ship", "postgresql://u:p%40ss@db:5433/ship"),
        ("postgresql://u@127.0.0.1/ship?sslmode=disable",
         "postgresql://u@127.0.0.1/ship?sslmode=disable"),
    ],
)  # fmt: skip
def test_the_listener_connects_where_the_store_does(url: str, conninfo: str) -> None:
    from shipway.store.listen import conninfo as to_conninfo

    assert to_conninfo(url) == conninfo
