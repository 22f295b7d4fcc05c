"""The notification outbox on SQLite and PostgreSQL: a key is enqueued once however many
writers race, a due row is leased to one worker, and migration 0008 goes down and up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from shipway.settings import Settings
from shipway.store import outbox
from shipway.store.db import _MIGRATIONS, Store, open_store

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    st = open_store(Settings(home=tmp_path / "home", database_url=url))
    with st.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM notify_outbox")
    yield st
    st.close()


def _d(key: str) -> outbox.Delivery:
    return outbox.Delivery(key, "c-" + key, "argocd", "web", "on-sync-succeeded", "hook", "",
                           {"message": "m"})  # fmt: skip


def _race(n: int, fn: object) -> list[object]:
    results: list[object] = []
    lock = threading.Lock()
    gate = threading.Barrier(n)

    def run() -> None:
        gate.wait()
        got = fn()  # type: ignore[operator]
        with lock:
            results.append(got)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_writers_enqueue_a_key_once(store: Store) -> None:
    results = _race(6, lambda: outbox.enqueue(store, _d("k1")))
    assert sorted(results) == [False] * 5 + [True]  # type: ignore[type-var]
    assert [d.key for d in outbox.list_outbox(store)] == ["k1"]


def test_a_due_row_is_leased_to_one_worker(store: Store) -> None:
    for i in range(10):
        outbox.enqueue(store, _d(f"k{i}"))
    claims = _race(4, lambda: outbox.claim_due(store, lease=60))
    ids = [d.id for got in claims for d in got]  # type: ignore[attr-defined]
    assert len(ids) == 10 and len(set(ids)) == 10
    assert outbox.claim_due(store) == []  # all leased


def test_rearm_frees_a_key_for_a_new_episode(store: Store) -> None:
    assert outbox.enqueue(store, _d("k"))
    assert not outbox.enqueue(store, _d("k"))
    assert outbox.rearm(store, ["c-k"]) == 1
    assert outbox.enqueue(store, _d("k"))
    assert len(outbox.list_outbox(store)) == 2


def test_migration_0008_down_and_up(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    open_store(Settings(home=tmp_path / "h", database_url=f"sqlite:///{db}")).close()
    engine = create_engine(f"sqlite:///{db}")
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
        assert "notify_outbox" not in inspect(conn).get_table_names()
        command.upgrade(cfg, "0008")
        assert "notify_outbox" in inspect(conn).get_table_names()
    engine.dispose()
