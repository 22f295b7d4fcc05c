"""Stored events on SQLite and PostgreSQL: aggregation, gapless positions under concurrent
writers, and migration 0007 carrying older event rows over."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from shipway.model.errors import ExternalError
from shipway.model.events import Event, ObjectRef
from shipway.model.release import STAGES, Release
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import releases, runs
from shipway.store.db import _MIGRATIONS, Store, open_store

pytestmark = pytest.mark.integration

WEB = ObjectRef("Application", "web", "argocd")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        st = open_store(Settings(home=tmp_path / "home", database_url=""))
    else:
        url = request.getfixturevalue("postgres_url")
        st = open_store(Settings(home=tmp_path / "home", database_url=url))
        with st.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM events")
            conn.exec_driver_sql("DELETE FROM app_reconciles")
    yield st
    st.close()


def test_repeats_aggregate(store: Store) -> None:
    t0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    a = store_events.emit(store, WEB, "SyncFailed", "boom", type="Warning", at=t0)
    b = store_events.emit(store, WEB, "SyncFailed", "boom", type="Warning",
                          at=t0 + dt.timedelta(minutes=3))  # fmt: skip
    assert (b.id, b.count, b.first, b.last) == (a.id, 2, t0, t0 + dt.timedelta(minutes=3))
    assert b.seq == a.seq + 1
    late = store_events.emit(store, WEB, "SyncFailed", "boom", type="Warning",
                             at=t0 + dt.timedelta(minutes=30))  # fmt: skip
    assert late.id != a.id and late.count == 1  # outside the window: a new event
    other = store_events.emit(store, WEB, "SyncFailed", "other message", type="Warning",
                              at=t0 + dt.timedelta(minutes=31))  # fmt: skip
    assert other.id not in (a.id, late.id)
    found = store_events.query(store)
    assert [e.seq for e in found] == [2, 3, 4]
    assert store_events.last_seq(store) == 4
    assert [e.reason for e in store_events.query(store, types=["Normal"])] == []
    assert store_events.query(store, after=3)[0].id == other.id
    # the routers' read (after and limit only) runs on the DBAPI cursor: the same events
    fast = store_events.query(store, after=2, limit=2)
    assert fast == store_events.query(store, after=2, upto=4)[:2]
    assert [(e.seq, e.count, e.first, e.last) for e in fast] == [
        (3, 1, late.first, late.last),
        (4, 1, other.first, other.last),
    ]


def test_concurrent_writers_take_gapless_positions(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                store_events.emit(store, ObjectRef("Application", f"a{n}"), "Tick", str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    found = store_events.query(store)
    assert [e.seq for e in found] == list(range(1, 151))


def test_older_event_rows_carry_over(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{db}")
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.execute(text("INSERT INTO events (time, source, subject, reason, message) VALUES "
                          "('2026-11-01 10:00:00', 'deploy', 'Application/web', 'SyncFailed', "
                          "'x')"))  # fmt: skip
    engine.dispose()
    store = open_store(Settings(home=tmp_path / "h", database_url=f"sqlite:///{db}"))
    [old] = store_events.query(store)
    assert (old.seq, old.count, old.reason) == (1, 1, "SyncFailed")
    assert (old.involved.kind, old.involved.name) == ("Application", "web")
    new = store_events.emit(store, WEB, "SyncSucceeded")
    assert new.seq == 2
    assert [e["reason"] for e in runs.events(store)] == ["SyncSucceeded", "SyncFailed"]
    store.close()


def test_release_events_carry_the_release_id(store: Store) -> None:
    rel = Release(id="rel42", app="web", commit="c" * 40)
    releases.save(store, rel)
    releases.save(store, rel)  # unchanged: no event
    for name in STAGES:
        rel.finish(name, True)
    rel.revision = "d" * 40
    releases.save(store, rel)
    found = store_events.query(store, release_id="rel42")
    assert [(e.reason, e.type) for e in found] == [("ReleaseCreated", "Normal"),
                                                   ("ReleaseSucceeded", "Normal")]  # fmt: skip
    assert found[1].message == f"{'c' * 12} live as {'d' * 12}"
    bad = Release(id="rel43", app="web", commit="e" * 40)
    bad.finish("ci", False, "tests failed")
    releases.save(store, bad)
    failed = store_events.query(store, release_id="rel43", types=["Warning"])
    expected = [("ReleaseFailed", "stage ci failed: tests failed")]
    assert [(e.reason, e.message) for e in failed] == expected
    assert failed[0].to_dict()["releaseId"] == "rel43"


def _queued_behind_a_held_transaction(
    store: Store, events: list[tuple[str, str]]
) -> tuple[list[object], int]:
    """Emit ``events`` (name, message) from one thread each while the first one's transaction
    is held at its INSERT until every other writer has queued; returns each writer's
    result (an Event or its error) and the transactions committed."""
    from sqlalchemy import event as sa_event

    from shipway.store import event_sql, event_writer

    release, held = threading.Event(), threading.Event()
    commits = [0]
    real_insert = event_sql.insert

    def hold(*args: Any) -> dict[int, int]:  # the writer's statements run on the DBAPI cursor
        if not release.is_set():
            held.set()
            release.wait(30)
        return real_insert(*args)

    def count(_conn: object) -> None:
        commits[0] += 1

    event_sql.insert = hold  # type: ignore[assignment]
    sa_event.listen(store.engine, "commit", count)
    results: list[object] = [None] * len(events)

    def writer(i: int) -> None:
        name, message = events[i]
        try:
            results[i] = store_events.emit(store, ObjectRef("Application", name), "Tick", message)
        except Exception as exc:
            results[i] = exc

    try:
        first = threading.Thread(target=writer, args=(0,))
        first.start()
        queue = event_writer.writer(store)
        assert held.wait(30)  # the first event's transaction is under way, alone
        rest = [threading.Thread(target=writer, args=(i,)) for i in range(1, len(events))]
        for t in rest:
            t.start()
        for _ in range(3000):  # the first is being written, out of the queue
            if queue.queued() == len(events) - 1:
                break
            threading.Event().wait(0.01)
        assert queue.queued() == len(events) - 1, queue.queued()
    finally:
        release.set()
        event_sql.insert = real_insert
    for t in [first, *rest]:
        t.join()
    sa_event.remove(store.engine, "commit", count)
    return results, commits[0]


def test_queued_writers_share_one_transaction(store: Store) -> None:
    events = [(f"a{i}", "m") for i in range(8)] + [("a1", "m")]  # the last repeats a1's
    results, commits = _queued_behind_a_held_transaction(store, events)
    assert all(not isinstance(r, BaseException) for r in results), results
    assert commits == 2  # the first event alone, then the 8 queued behind it in one
    found = store_events.query(store)
    assert [e.seq for e in found] == [1, *range(3, 10)]  # a1's row moved to the last one
    a1 = [e for e in found if e.involved.name == "a1"]
    assert len(a1) == 1 and a1[0].count == 2
    stored_seqs = sorted(r.seq for r in results if isinstance(r, Event))
    assert stored_seqs == list(range(1, 10))  # each writer told its own position


def test_a_bad_event_fails_only_its_writer(store: Store) -> None:
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite stores any length: PostgreSQL refuses a name over 253 characters")
    events = [("first", "m"), ("ok1", "m"), ("x" * 300, "m"), ("ok2", "m")]
    results, _ = _queued_behind_a_held_transaction(store, events)
    assert isinstance(results[2], ExternalError), results[2]
    assert [isinstance(r, Event) for r in results] == [True, True, False, True]
    found = store_events.query(store)
    assert sorted(e.involved.name for e in found) == ["first", "ok1", "ok2"]
    assert [e.seq for e in found] == [1, 2, 3]  # gapless: the failed one took no position


def test_the_light_reader_reads_events_as_the_store_queries_them(store: Store) -> None:
    """``reads.list_events`` (``get events``' read, no ORM) answers as ``events.query``."""
    from shipway.store import reads

    at = dt.datetime(2026, 12, 4, 8, 0, 0, 123456, tzinfo=dt.UTC)
    web, api = ObjectRef("Application", "web", "argocd"), ObjectRef("Application", "api", "team")
    for i in range(3):  # one event seen three times, then others
        store_events.emit(store, web, "SyncFailed", "boom", type="Warning",
                          at=at + dt.timedelta(seconds=i))  # fmt: skip
    store_events.emit(store, api, "Synced", "fine", release_id="rel-1", source="deploy", at=at)
    store_events.emit(store, ObjectRef("CIRun", "r1", "ci", "v1", "u-1"), "RunStarted", "go", at=at)
    readers = [reads.engine_reader(store.engine)]
    if store.engine.dialect.name == "sqlite":  # and as the CLI reads SQLite: stdlib sqlite3
        readers.append(
            reads.check_schema(reads._sqlite_reader(Path(str(store.engine.url.database))), "db")
        )
    forms: list[dict[str, Any]] = [
        {}, {"namespace": "argocd"}, {"kind": "application"}, {"name": "api"},
        {"types": ["Warning"]}, {"types": ["Normal", "Warning"], "after": 1},
        {"limit": 2, "newest": True}, {"namespace": "nowhere"},
    ]  # fmt: skip
    for reader in readers:
        for form in forms:
            light = reads.list_events(reader, **{"limit": 1000, **form})
            assert light == store_events.query(store, **{"limit": 1000, **form}), form
        assert reads.last_event_seq(reader) == store_events.last_seq(store)
        first = reads.list_events(reader, name="web")[0]
        assert (first.count, first.first, first.last) == (3, at, at + dt.timedelta(seconds=2))


def test_the_light_reader_finds_a_release_by_id_or_unique_prefix(store: Store) -> None:
    from shipway.model.errors import NotFoundError
    from shipway.store import reads

    for rid in ("abc123", "abc456", "x_1", "x%2"):
        releases.save(store, Release(id=rid, app="web", commit="c" * 40))
    reader = reads.engine_reader(store.engine)
    assert reads.get_release(reader, "abc123") == releases.get(store, "abc123")
    assert reads.get_release(reader, "abc4").id == "abc456"
    assert reads.get_release(reader, "x_").id == "x_1"  # _ and % are characters, not patterns
    assert reads.get_release(reader, "x%").id == "x%2"
    for ambiguous_or_missing in ("abc", "x", "nope"):
        with pytest.raises(NotFoundError, match="not found"):
            reads.get_release(reader, ambiguous_or_missing)
