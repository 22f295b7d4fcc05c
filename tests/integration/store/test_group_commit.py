"""The group commit itself (``store.group_commit``), on both backends: who writes which batch,
what a caller is told when its leader is interrupted, and which failures are written again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, OperationalError

from shipway.model.errors import ConflictError, ExternalError
from shipway.settings import Settings
from shipway.store.db import Store, open_store
from shipway.store.group_commit import GroupWriter

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    s = open_store(Settings(home=tmp_path, database_url=url))
    key = "SERIAL" if url else "INTEGER"
    with s.engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS gc_items (id {key} PRIMARY KEY, "
                             "v TEXT UNIQUE NOT NULL)")  # fmt: skip
        conn.exec_driver_sql("DELETE FROM gc_items")
    yield s
    s.close()


class Held:
    """A write function that records who wrote each batch and holds the batch holding
    ``hold`` until ``release`` is set."""

    def __init__(self, hold: str = "hold", fail: Callable[[Sequence[str]], None] | None = None):
        self.hold, self.fail = hold, fail
        self.held, self.release = threading.Event(), threading.Event()
        self.batches: list[tuple[str, list[str]]] = []  # (thread name, items)

    def __call__(self, conn: Connection, items: Sequence[str]) -> list[int]:
        self.batches.append((threading.current_thread().name, list(items)))
        if self.hold in items and not self.release.is_set():
            self.held.set()
            assert self.release.wait(30)
        if self.fail is not None:
            self.fail(items)
        insert = text("INSERT INTO gc_items (v) VALUES (:v) RETURNING id")
        return [int(conn.execute(insert, {"v": v}).scalar_one()) for v in items]


def stored(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM gc_items ORDER BY id"))]


def calling(w: GroupWriter[str, int], item: str, out: dict[str, object]) -> threading.Thread:
    def run() -> None:
        try:
            out[item] = w.call(item)
        except BaseException as exc:  # KeyboardInterrupt too: the test reads it
            out[item] = exc

    t = threading.Thread(target=run, name=f"caller-{item}")
    t.start()
    return t


def queued(w: GroupWriter[str, int], n: int) -> None:
    for _ in range(3000):
        if w.queued() == n:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{w.queued()} queued, not {n}")


def test_callers_and_submitted_items_share_a_batch_written_by_a_waiting_caller(
    store: Store,
) -> None:
    write = Held()
    w: GroupWriter[str, int] = GroupWriter(store, write, "gc-test")
    out: dict[str, object] = {}
    first = calling(w, "hold", out)
    assert write.held.wait(30)
    futures = [w.submit(f"f{i}") for i in range(3)]
    callers = [calling(w, f"c{i}", out) for i in range(3)]
    queued(w, 6)
    write.release.set()
    for t in [first, *callers]:
        t.join(30)
    ids = [f.result(30) for f in futures]
    assert ids == sorted(ids) and len({*ids, *(out[f"c{i}"] for i in range(3))}) == 6
    assert write.batches[0][1] == ["hold"]
    assert len(write.batches) == 2 and sorted(write.batches[1][1]) == sorted(
        [f"f{i}" for i in range(3)] + [f"c{i}" for i in range(3)]
    )
    # the lead went to a waiting caller: no hand-off to the writer's thread
    assert write.batches[0][0] == "caller-hold" and write.batches[1][0].startswith("caller-c")
    assert w.batches == 2 and sorted(stored(store)) == sorted(
        ["hold", *(f"f{i}" for i in range(3)), *(f"c{i}" for i in range(3))]
    )


def test_submitted_items_left_when_the_caller_is_done_go_to_the_writer_thread(
    store: Store,
) -> None:
    write = Held()
    w: GroupWriter[str, int] = GroupWriter(store, write, "gc-test")
    out: dict[str, object] = {}
    first = calling(w, "hold", out)
    assert write.held.wait(30)
    futures: list[Future[int]] = [w.submit(f"f{i}") for i in range(4)]
    queued(w, 4)
    write.release.set()
    first.join(30)
    assert isinstance(out["hold"], int)
    assert all(isinstance(f.result(30), int) for f in futures)
    assert write.batches == [
        ("caller-hold", ["hold"]),
        ("shipway-gc-test-writer", ["f0", "f1", "f2", "f3"]),
    ]
    assert w.call("after") > 0


def test_an_interrupted_leader_tells_its_batch_and_hands_the_lead_on(store: Store) -> None:
    def interrupt(items: Sequence[str]) -> None:
        if "boom" in items:
            raise KeyboardInterrupt

    write = Held(fail=interrupt)
    w: GroupWriter[str, int] = GroupWriter(store, write, "gc-test")
    out: dict[str, object] = {}
    first = calling(w, "hold", out)
    assert write.held.wait(30)
    boom = calling(w, "boom", out)
    queued(w, 1)
    rest = calling(w, "x", out)
    queued(w, 2)
    fut = w.submit("y")
    queued(w, 3)
    write.release.set()
    for t in (first, boom, rest):
        t.join(30)
    assert isinstance(out["hold"], int)
    assert isinstance(out["boom"], KeyboardInterrupt)  # the leader's own: the interrupt
    assert isinstance(out["x"], ExternalError) and "may not be stored" in str(out["x"])
    with pytest.raises(ExternalError, match="may not be stored"):
        fut.result(30)
    assert w.call("after") > 0  # the lead was handed on: the next caller is not stuck
    assert stored(store) == ["hold", "after"]  # the interrupted batch rolled back


def test_a_refused_batch_is_written_again_whole_then_busy(store: Store) -> None:
    refusals = [2]

    def refuse(items: Sequence[str]) -> None:
        if refusals[0] > 0:
            refusals[0] -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))

    write = Held(fail=refuse)
    w: GroupWriter[str, int] = GroupWriter(store, write, "gc-test", retries=3)
    assert w.call("a") > 0
    assert [items for _, items in write.batches] == [["a"]] * 3 and w.batches == 1

    def busy(items: Sequence[str], err: ExternalError) -> ConflictError:
        return ConflictError(f"{items[0]}: stayed busy", subject="gc")

    refusals[0] = 10
    w = GroupWriter(store, write, "gc-test", retries=3, busy=busy)
    with pytest.raises(ConflictError, match="b: stayed busy"):
        w.call("b")
    assert refusals[0] == 7 and stored(store) == ["a"]


def test_a_driver_error_on_the_cursor_is_sorted_as_sqlalchemys(store: Store) -> None:
    """A raw DBAPI ``IntegrityError`` (a ``write`` on the transaction's cursor) is retried
    when ``retry_on`` lists ``IntegrityError``, and reaches the caller as ``ExternalError``."""
    calls = [0]

    def raw(conn: Connection, items: Sequence[str]) -> list[int]:
        calls[0] += 1
        cur = conn.connection.cursor()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        try:
            for v in items:
                cur.execute(f"INSERT INTO gc_items (v) VALUES ({mark})", [v])
        finally:
            cur.close()
        return [0] * len(items)

    w: GroupWriter[str, int] = GroupWriter(store, raw, "gc-test", subject="store")
    w.call("dup")
    calls[0] = 0
    with pytest.raises(ExternalError, match="database error") as got:
        w.call("dup")
    assert calls[0] == 1  # not retried: retry_on is OperationalError alone
    assert isinstance(got.value.__cause__, IntegrityError)
    w = GroupWriter(store, raw, "gc-test", retry_on=(IntegrityError,), retries=4)
    calls[0] = 0
    with pytest.raises(ExternalError, match="database error"):
        w.call("dup")
    assert calls[0] == 4  # written again whole, each time refused
