"""The inbox's group commit on both backends: many writers, one item per key, durable on return."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from own_loop import run_on_own_loop
from shipway.settings import Settings
from shipway.store import inbox
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    s = open_store(Settings(home=tmp_path, database_url=url))
    if url:  # the PostgreSQL database is shared by the session's tests
        with s.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM inbox")
    yield s
    s.close()


def test_concurrent_puts_store_each_key_once_and_every_unkeyed_item(store: Store) -> None:
    got: dict[str, list[int | None]] = {"same": [], "own": [], "plain": []}
    lock = threading.Lock()
    start = threading.Barrier(30)

    def writer(n: int) -> None:
        start.wait()
        same = inbox.put(store, "git", {"n": n}, "the-same-push")
        own = inbox.put(store, "git", {"n": n}, f"push-{n}")
        plain = inbox.put(store, "git", {"n": n})
        with lock:
            got["same"].append(same)
            got["own"].append(own)
            got["plain"].append(plain)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([i for i in got["same"] if i is not None]) == 1
    assert None not in got["own"] and None not in got["plain"]
    ids = [i for i in got["same"] + got["own"] + got["plain"] if i is not None]
    assert len(set(ids)) == 61
    stored = inbox.items(store, "git")
    assert sorted(r["id"] for r in stored) == sorted(ids)
    assert {r["dedupe"] for r in stored} >= {"the-same-push", *(f"push-{n}" for n in range(30))}


def test_a_key_given_twice_in_one_batch_is_one_item(store: Store) -> None:
    first, again, other, plain = inbox.put_many(store, [
        inbox.New("ci", {"a": 1}, "k"), inbox.New("ci", {"a": 2}, "k"),
        inbox.New("ci", {"a": 3}, "k2"), inbox.New("ci", {"a": 4})])  # fmt: skip
    assert first is not None and again is None and other is not None and plain is not None
    assert inbox.put(store, "ci", {"a": 5}, "k") is None  # stored before
    (item,) = [r for r in inbox.items(store, "ci") if r["dedupe"] == "k"]
    assert item["payload"] == {"a": 1}


def test_an_awaited_put_is_committed_when_it_returns(store: Store) -> None:
    async def one(n: int) -> int | None:
        got = await asyncio.wrap_future(inbox.put_future(store, "forge", {"n": n}, f"d-{n}"))
        # committed: another connection sees it at once
        with store.engine.connect() as conn:
            row = conn.execute(text("SELECT dedupe FROM inbox WHERE id = :i"), {"i": got}).first()
        assert row is not None and row[0] == f"d-{n}"
        return got

    async def main() -> list[int | None]:
        return await asyncio.gather(*(one(n) for n in range(100)))

    ids = run_on_own_loop(main())
    assert None not in ids and len(set(ids)) == 100


def test_a_bad_item_fails_only_its_own_put(store: Store) -> None:
    futures = [inbox.put_future(store, "git", {"n": n}, f"b-{n}") for n in range(10)]
    bad = inbox.put_future(store, "git", {"not json": object()}, "bad")
    futures += [inbox.put_future(store, "git", {"n": n}, f"b-{n}") for n in range(10, 20)]
    with pytest.raises(Exception, match="JSON serializable"):
        bad.result(timeout=30)
    ids = [f.result(timeout=30) for f in futures]
    assert None not in ids and len(set(ids)) == 20
    assert "bad" not in {r["dedupe"] for r in inbox.items(store, "git")}
