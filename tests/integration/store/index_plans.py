"""Helpers of the index tests: a store on SQLite or PostgreSQL, one Application, a query plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shipway.model.resources import Resource
from shipway.settings import Settings
from shipway.store.db import Store, open_store


def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store on ``request.param`` ("sqlite" or "postgresql", emptied of resources)."""
    if request.param == "sqlite":
        return open_store(Settings(home=tmp_path / "home", database_url=""))
    url = request.getfixturevalue("postgres_url")
    st = open_store(Settings(home=tmp_path / "home", database_url=url))
    with st.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM resources")
    return st


def app(name: str, project: str | None = "default") -> Resource:
    spec: dict[str, Any] = {"source": {"repoURL": "git://h/c.git", "path": name}}
    if project is not None:
        spec = {"project": project, **spec}
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"}, "spec": spec,
    }  # fmt: skip
    return Resource("argoproj.io/v1alpha1", "Application", name, "argocd", body)


def query_plan(store: Store, sql: str, params: dict[str, Any] | None = None) -> str:
    """The plan of ``sql`` as one line (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN
    with sequential scans off: with few rows the planner's choice is made plain)."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql), params or {})
            return " ".join(str(r[-1]) for r in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")
        return " ".join(str(r[0]) for r in conn.execute(text("EXPLAIN " + sql), params or {}))
