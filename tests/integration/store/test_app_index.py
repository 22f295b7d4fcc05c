"""The applications page's change check reads migration 0013's index (SQLite and
PostgreSQL), sees a status written, and the index never stands in for 0012's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from index_plans import app, open_backend, query_plan

from shipway.server.ui import appindex
from shipway.store import pins
from shipway.store import resources as repo
from shipway.store.db import Store

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    st = open_backend(request, tmp_path)
    yield st
    st.close()


def test_the_change_check_reads_the_index_alone(store: Store) -> None:
    repo.apply(store, [app(f"a{i}") for i in range(5)])
    for sql in (appindex._MARK_SQL, appindex._STAMPS_SQL):
        plan = query_plan(store, sql)
        if store.engine.dialect.name == "sqlite":
            assert "COVERING INDEX ix_resources_kind_updated" in plan, plan
        else:
            assert "ix_resources_kind_updated" in plan, plan
    pin = query_plan(store, pins.query(store.engine.dialect.name),
                {"group": "argoproj.io", "kind": "Application"})  # fmt: skip
    assert "ix_resources_pin" in pin and "ix_resources_kind_updated" not in pin, pin


def test_a_status_written_reaches_the_summaries(store: Store) -> None:
    repo.apply(store, [app(f"a{i}") for i in range(3)])
    index = appindex.AppIndex(store)
    assert [s.health for s in index.summaries()] == ["Unknown"] * 3
    repo.set_status(store, "Application", "a1", {"health": {"status": "Degraded"}}, "argocd")
    assert [s.health for s in index.summaries()] == ["Unknown", "Degraded", "Unknown"]
    repo.delete(store, "Application", "a2", "argocd")
    assert [s.name for s in index.summaries()] == ["a0", "a1"]
