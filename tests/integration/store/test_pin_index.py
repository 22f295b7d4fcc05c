"""Rollback pins read through their index (migration 0012) on SQLite and PostgreSQL: the
pass over every Application reads the pinned rows only, and the plan uses the index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from index_plans import app, open_backend, query_plan
from sqlalchemy import select

from shipway.deploy.appstore import AppCache
from shipway.model.resources import Resource
from shipway.settings import Settings
from shipway.store import pins
from shipway.store import resources as repo
from shipway.store.db import _MIGRATIONS, Store, open_store
from shipway.store.tables import ResourceRow

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    st = open_backend(request, tmp_path)
    yield st
    st.close()


def _pin(store: Store, name: str, revision: str | None) -> None:
    status: dict[str, Any] = {"sync": {"status": "Synced"}, "history": [{"id": 1}]}
    if revision is not None:
        status["pin"] = {"revision": revision, "historyId": 1}
    repo.set_status(store, "Application", name, status, "argocd")


def test_pins_follow_the_statuses(store: Store) -> None:
    repo.apply(store, [app(f"a{i}", project=None) for i in range(30)])
    _pin(store, "a3", "c" * 40)
    _pin(store, "a7", "d" * 40)
    _pin(store, "a8", None)  # a status without a pin
    repo.apply(store, [Resource("v1", "ConfigMap", "a9", "argocd", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a9"}})])  # fmt: skip
    cache = AppCache()
    listed = {app.name: pin for app, pin in cache.load(store)}
    assert len(listed) == 30
    assert {n: p for n, p in listed.items() if p} == {"a3": "c" * 40, "a7": "d" * 40}
    _pin(store, "a3", None)  # lifted (``shipway app sync``)
    _pin(store, "a8", "e" * 40)  # pinned by a rollback
    listed = {app.name: pin for app, pin in cache.load(store)}
    assert {n: p for n, p in listed.items() if p} == {"a7": "d" * 40, "a8": "e" * 40}
    repo.delete(store, "Application", "a7", "argocd")
    with store.engine.connect() as conn:
        assert pins.pinned(conn, "argoproj.io", "Application") == {cache.ids["a8"]: "e" * 40}


def test_the_plan_reads_the_index(store: Store) -> None:
    repo.apply(store, [app(f"a{i}", project=None) for i in range(5)])
    _pin(store, "a1", "c" * 40)
    dialect = store.engine.dialect.name
    sql = pins.query(dialect)
    params = {"group": "argoproj.io", "kind": "Application"}
    plan = query_plan(store, sql, params)
    if dialect == "sqlite":
        assert "INDEX ix_resources_pin" in plan and "SCAN" not in plan, plan
    else:
        assert "ix_resources_pin" in plan, plan
    listing = str(
        select(ResourceRow.id, ResourceRow.generation)
        .where(ResourceRow.api_group == "argoproj.io", ResourceRow.kind == "Application")
        .order_by(ResourceRow.namespace, ResourceRow.name)
        .compile(store.engine, compile_kwargs={"literal_binds": True})
    )
    plan = query_plan(store, listing)
    if dialect == "sqlite":
        assert "COVERING INDEX ix_resources_listing" in plan, plan
    else:
        assert "ix_resources_listing" in plan, plan


def test_migration_0012_indexes_existing_pins(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    settings = Settings(home=tmp_path / "h", database_url=f"sqlite:///{db}")
    from shipway.store.db import engine_for

    engine = engine_for(settings)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011")
    old = Store(engine)
    repo.apply(old, [app("web", project=None), app("api", project=None)])
    _pin(old, "web", "f" * 40)
    old.close()
    store = open_store(settings)  # brought to head: 0012
    listed = {app.name: pin for app, pin in AppCache().load(store)}
    assert listed == {"api": None, "web": "f" * 40}
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master")}
    assert "ix_resources_pin" not in names and "ix_resources_listing" not in names
    store.close()
