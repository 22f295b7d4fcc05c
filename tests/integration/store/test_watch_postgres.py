"""Watches on a PostgreSQL store are woken by the database's own notifications (migration 0014,
``shipway.store.listen``), with ``max(seq)`` read now and then in case one is lost.

The watching CLI is its own process with its fallback fetch put off for ten minutes
(``SHIPWAY_WATCH_FALLBACK``); rows are written by this process. A write that records no
event (a CI run, an Application applied, a release changed in place) does not move
``max(seq)``: only the notification can wake the watch. With the trigger on ``events``
dropped, an event still reaches ``get events -w`` through the slow ``max(seq)`` poll.
The listener opens its connection again when it is killed; the controller's event
stream (``shipway.server.sse``) is woken by the notification too.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from own_loop import run_on_own_loop
from shipway.model.events import ObjectRef
from shipway.model.release import Release
from shipway.model.resources import parse_text
from shipway.server import sse
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import releases, runs
from shipway.store import resources as resource_store
from shipway.store.db import Store, open_store
from shipway.store.listen import Listener
from watch_process import Watch

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
WEB = ObjectRef("Application", "web", "argocd")
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: web}
  destination: {name: local, namespace: web}
"""


class Db:
    """A fresh database of the session's server, migrated, and an admin engine on it."""

    def __init__(self, url: str, store: Store, admin: Engine) -> None:
        self.url, self.store, self.admin = url, store, admin

    def sql(self, statement: str) -> None:
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1),
                               isolation_level="AUTOCOMMIT")  # fmt: skip
        with engine.connect() as conn:
            conn.execute(text(statement))
        engine.dispose()


@pytest.fixture
def db(shipway_home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    name = f"watch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("SHIPWAY_DATABASE_URL", url)
    store = open_store(Settings())  # migrates the fresh database
    try:
        yield Db(url, store, admin)
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _run(store: Store) -> None:
    runs.save_run(store, {"id": "run-2", "workflow": "ci.yml", "event": "push",
                          "conclusion": "success", "jobs": []}, "log")  # fmt: skip


def _app(store: Store) -> None:
    resource_store.apply(store, parse_text(APP, "app.yaml"))


def _release(store: Store) -> None:  # the same status: no event is recorded
    releases.save(store, Release(id="r0001", app="web", commit="a" * 40, message="changed"))


CASES: dict[str, tuple[list[str], Callable[[Store], None], str]] = {
    "ci run": (["ci", "list", "-w", "-o", "name"], _run, "run/run-2"),
    "application": (["get", "applications", "-w", "-o", "name"], _app, "application/web"),
    "release in place": (["release", "list", "-w", "-o", "name"], _release, "release/r0001"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_row_no_event_records_wakes_the_watch(db: Db, case: str) -> None:
    argv, write, expect = CASES[case]
    releases.save(db.store, Release(id="r0001", app="web", commit="a" * 40))
    runs.save_run(db.store, {"id": "run-1", "workflow": "ci.yml", "event": "push",
                             "conclusion": "success", "jobs": []}, "log")  # fmt: skip
    seq = store_events.last_seq(db.store)
    watch = Watch(*argv)
    try:
        if case != "application":  # no Application yet: the list is empty
            assert watch.line() in ("release/r0001", "run/run-1")
        write(db.store)
        assert store_events.last_seq(db.store) == seq  # max(seq) did not move
        assert watch.line() == expect
    finally:
        assert watch.stop() == 0  # Ctrl-C ends a watch with exit 0


def test_an_event_without_its_notification_shows_at_the_slow_poll(db: Db) -> None:
    store_events.emit(db.store, WEB, "Started", "first")
    db.sql("DROP TRIGGER shipway_notify_events ON events")
    watch = Watch("get", "events", "-w")
    try:
        while "first" not in watch.line():  # the table: header, then the event
            pass
        store_events.emit(db.store, WEB, "SyncSucceeded", "told by max(seq) alone")
        while "told by max(seq) alone" not in watch.line():
            pass
    finally:
        assert watch.stop() == 0


def _backend_pids(db: Db) -> list[int]:
    name = db.url.rsplit("/", 1)[1]
    with db.admin.connect() as conn:
        rows = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d "
                                 "AND query LIKE 'LISTEN%'"), {"d": name})  # fmt: skip
        return [int(r[0]) for r in rows]


def test_the_listener_reconnects_and_tells_of_what_it_may_have_missed(db: Db) -> None:
    listener = Listener(db.url, ["events"], retry=0.05)
    try:
        assert listener.connected
        seen = listener.mark(["events"])
        store_events.emit(db.store, WEB, "SyncSucceeded", "one")
        seen_after = listener.wait(["events"], seen, 60)
        assert seen_after != seen  # the notification
        pids = _backend_pids(db)
        assert pids
        with db.admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        back = listener.wait(["events"], seen_after, 60)
        assert back != seen_after and listener.errors >= 1  # back, and it says so
        store_events.emit(db.store, WEB, "SyncSucceeded", "two")
        assert listener.wait(["events"], back, 60) != back  # listening again
    finally:
        listener.close(wait=5)


def test_the_event_stream_is_woken_by_the_notification(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "FALLBACK_POLL", 600.0)  # only the notification can wake it
    writer = open_store(Settings())  # another connection pool: another writer

    async def read() -> list[str]:
        async def connected() -> bool:
            return False

        got: list[str] = []
        body = sse.stream(db.store, None, sse.Filter(), disconnected=connected,
                          heartbeat=0.1, poll=0.05)  # fmt: skip
        wrote = False
        async for chunk in body:
            if chunk.startswith(": heartbeat") and not wrote:  # the stream read max(seq)
                await asyncio.to_thread(store_events.emit, writer, WEB, "SyncSucceeded", "live")
                wrote = True
            elif chunk.startswith("id:"):
                got.append(chunk)
                break
        await body.aclose()
        return got

    try:
        got = run_on_own_loop(asyncio.wait_for(read(), timeout=60))
        assert len(got) == 1 and '"live"' in got[0]
    finally:
        writer.close()


def _triggers(db: Db) -> set[str]:
    with db.store.engine.connect() as conn:
        rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'shipway_%'"))
        return {str(r[0]) for r in rows}


def test_0014_goes_down_and_up_again(db: Db) -> None:
    from alembic import command
    from alembic.config import Config

    from shipway.store import db as store_db

    tables = ("events", "resources", "releases", "ci_runs")
    assert _triggers(db) == {f"shipway_notify_{t}" for t in tables}
    cfg = Config()
    cfg.set_main_option("script_location", str(store_db._MIGRATIONS))
    with db.store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013")
    assert _triggers(db) == set()
    with db.store.engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM pg_proc "
                                 "WHERE proname = 'shipway_notify_change'")).scalar()  # fmt: skip
    assert left == 0
    store_db.migrate(db.store.engine)
    assert _triggers(db) == {f"shipway_notify_{t}" for t in tables}


def test_the_notifier_loop_is_woken_by_the_notification(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its poll and fallback put off for ten minutes, only the notification of an event
    written by another connection pool can start the controller's notification pass."""
    from shipway.controller import notifier
    from shipway.notify import worker

    passes: queue.Queue[int] = queue.Queue()
    monkeypatch.setattr(worker, "run_pass", lambda store, wait: passes.put(1))
    writer = open_store(Settings())
    stop = threading.Event()
    thread = notifier.start(db.store, stop, poll=600.0, fallback=600.0)
    try:
        assert passes.get(timeout=60) == 1  # the first look, at start
        store_events.emit(writer, WEB, "SyncSucceeded", "live")
        assert passes.get(timeout=60) == 1  # woken by the event's notification
    finally:
        stop.set()
        store_events.emit(writer, WEB, "SyncSucceeded", "wake up to stop")
        thread.join(60)
        writer.close()
    assert not thread.is_alive()
