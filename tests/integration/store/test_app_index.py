"""The applications page's change check reads migration 0013's index (SQLite and
PostgreSQL), sees a status written, and the index never stands in for 0012's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shipway.model.resources import Resource
from shipway.server.ui import appindex
from shipway.settings import Settings
from shipway.store import pins
from shipway.store import resources as repo
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        st = open_store(Settings(home=tmp_path / "home", database_url=""))
    else:
        url = request.getfixturevalue("postgres_url")
        st = open_store(Settings(home=tmp_path / "home", database_url=url))
        with st.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM resources")
    yield st
    st.close()


def _app(name: str) -> Resource:
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default", "source": {"repoURL": "git://h/c.git", "path": name}},
    }  # fmt: skip
    return Resource("argoproj.io/v1alpha1", "Application", name, "argocd", body)


def _plan(store: Store, sql: str, params: dict[str, Any] | None = None) -> str:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql), params or {})
            return " ".join(str(r[-1]) for r in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")  # few rows: make the choice plain
        return " ".join(str(r[0]) for r in conn.execute(text("EXPLAIN " + sql), params or {}))


def test_the_change_check_reads_the_index_alone(store: Store) -> None:
    repo.apply(store, [_app(f"a{i}") for i in range(5)])
    for sql in (appindex._MARK_SQL, appindex._STAMPS_SQL):
        plan = _plan(store, sql)
        if store.engine.dialect.name == "sqlite":
            assert "COVERING INDEX ix_resources_kind_updated" in plan, plan
        else:
            assert "ix_resources_kind_updated" in plan, plan
    pin = _plan(store, pins.query(store.engine.dialect.name),
                {"group": "argoproj.io", "kind": "Application"})  # fmt: skip
    assert "ix_resources_pin" in pin and "ix_resources_kind_updated" not in pin, pin


def test_a_status_written_reaches_the_summaries(store: Store) -> None:
    repo.apply(store, [_app(f"a{i}") for i in range(3)])
    index = appindex.AppIndex(store)
    assert [s.health for s in index.summaries()] == ["Unknown"] * 3
    repo.set_status(store, "Application", "a1", {"health": {"status": "Degraded"}}, "argocd")
    assert [s.health for s in index.summaries()] == ["Unknown", "Degraded", "Unknown"]
    repo.delete(store, "Application", "a2", "argocd")
    assert [s.name for s in index.summaries()] == ["a0", "a1"]
