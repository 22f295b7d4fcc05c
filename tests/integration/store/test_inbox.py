"""The durable inbox on SQLite and a real PostgreSQL server: dedupe, leases, retake, expand."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from shipway.settings import Settings
from shipway.store import inbox
from shipway.store.db import Store, open_store
from shipway.store.inbox_tables import InboxRow

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    st = open_store(Settings(home=tmp_path / "home", database_url=url))
    with st.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM inbox")
    yield st
    st.close()


def test_a_dedupe_key_is_stored_once(store: Store) -> None:
    first = inbox.put(store, "git", {"n": 1}, dedupe="k")
    assert first is not None
    assert inbox.put(store, "git", {"n": 2}, dedupe="k") is None
    assert inbox.seen(store, "k") and not inbox.seen(store, "other")
    assert inbox.put(store, "git", {"n": 3}) is not None  # no key: always new
    assert [i["payload"] for i in inbox.items(store)] == [{"n": 3}, {"n": 1}]


def test_concurrent_workers_take_each_item_once(store: Store) -> None:
    inbox.put_many(store, [inbox.New("work", {"n": n}) for n in range(200)])
    inbox.put(store, "other", {"n": -1})
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        owner = inbox.owner_id()
        while (item := inbox.take(store, owner, ["work"])) is not None:
            with lock:
                taken.append(item.payload["n"])
            assert inbox.complete(store, item.id, owner)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(200))
    assert inbox.counts(store, ["work"]) == {"done": 200}
    assert inbox.counts(store, ["other"]) == {"pending": 1}


def test_an_expired_lease_is_taken_again_and_the_old_owner_cannot_finish(store: Store) -> None:
    item_id = inbox.put(store, "work", {"n": 1})
    first = inbox.take(store, "host/1/a", ["work"], lease=30)
    assert first is not None and first.id == item_id and first.attempts == 1
    assert inbox.take(store, "host/2/b", ["work"]) is None  # leased: not free
    with store.engine.begin() as conn:  # the owner stopped renewing: its lease ran out
        conn.execute(
            update(InboxRow).values(lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    again = inbox.take(store, "host/2/b", ["work"])
    assert again is not None and again.id == item_id and again.attempts == 2
    assert not inbox.extend(store, item_id, "host/1/a")
    assert not inbox.complete(store, item_id, "host/1/a")
    assert inbox.expand(store, item_id, "host/1/a", [inbox.New("child", {})]) is None
    assert inbox.counts(store, ["child"]) == {}
    assert inbox.expand(store, item_id, "host/2/b", [inbox.New("child", {}, "c")] * 2) == [
        inbox.items(store, "child")[0]["id"],
        None,
    ]
    assert inbox.counts(store, ["work"]) == {"done": 1}


def test_recover_hands_back_the_leases_of_dead_processes_here(store: Store) -> None:
    inbox.put(store, "work", {})
    dead = f"{inbox.HOST}/{2**22 + 12345}/x"  # no such pid
    assert inbox.take(store, dead, ["work"], lease=3600) is not None
    assert inbox.recover(store) == 1
    assert inbox.take(store, inbox.owner_id(), ["work"]) is not None


def test_hook_keys_are_made_once(store: Store) -> None:
    key = inbox.hook_key(store, "hooks")
    assert len(key) == 64 and inbox.hook_key(store, "hooks") == key
    inbox.rotate_hook_key(store, "hooks")
    assert inbox.hook_key(store, "hooks") != key


def test_prune_deletes_only_items_that_ended_long_ago(store: Store) -> None:
    old, recent, waiting = (inbox.put(store, "work", {"n": n}, f"k{n}") for n in range(3))
    for item_id in (old, recent):
        got = inbox.take(store, "o", ["work"])
        assert got is not None and got.id == item_id
        inbox.complete(store, item_id, "o")
    with store.engine.begin() as conn:
        conn.execute(
            update(InboxRow)
            .where(InboxRow.id == old)
            .values(finished=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
        )
    assert inbox.prune(store, dt.timedelta(days=30)) == 1
    assert not inbox.seen(store, "k0") and inbox.seen(store, "k1") and inbox.seen(store, "k2")
    assert waiting is not None
