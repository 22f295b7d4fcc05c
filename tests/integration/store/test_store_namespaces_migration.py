"""Migration 0006 keeps the resources of a database at revision 0004 (SQLite and PostgreSQL):
each row gets its kind's default namespace and its API group, and afterwards two objects of one
kind and name live side by side in two namespaces."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from shipway.model import resources as model
from shipway.store import resources as repo
from shipway.store.db import Store, migrate

pytestmark = pytest.mark.integration

OLD_ROWS = [  # (kind, namespace as stored before 0006, name, apiVersion, metadata)
    ("Application", "", "web", "argoproj.io/v1alpha1", {"name": "web"}),
    ("Application", "team", "api", "argoproj.io/v1alpha1", {"name": "api", "namespace": "team"}),
    ("AppProject", "", "shop", "argoproj.io/v1alpha1", {"name": "shop"}),
    ("ConfigMap", "", "argocd-rbac-cm", "v1", {"name": "argocd-rbac-cm"}),
    ("ConfigMap", "", "settings", "v1", {"name": "settings"}),
    ("Pipeline", "", "build", "shipway.dev/v1alpha1", {"name": "build"}),
    ("Cluster", "ignored", "edge", "shipway.dev/v1alpha1", {"name": "edge", "namespace": "x"}),
    ("ImagePolicy", "", "pol", "image.toolkit.fluxcd.io/v1beta2", {"name": "pol"}),
]
EXPECTED = {  # (kind, name) -> (api_group, namespace)
    ("Application", "web"): ("argoproj.io", "argocd"),
    ("Application", "api"): ("argoproj.io", "team"),
    ("AppProject", "shop"): ("argoproj.io", "argocd"),
    ("ConfigMap", "argocd-rbac-cm"): ("", "argocd"),
    ("ConfigMap", "settings"): ("", "default"),
    ("Pipeline", "build"): ("shipway.dev", "default"),
    ("Cluster", "edge"): ("shipway.dev", ""),
    ("ImagePolicy", "pol"): ("image.toolkit.fluxcd.io", "flux-system"),
}
WEB = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web{ns}}}
spec:
  source: {{repoURL: "git://127.0.0.1/config.git", path: app}}
  destination: {{name: local, namespace: web}}
"""


def _seed_at_0004(engine: Engine) -> None:
    migrate(engine, "0004")
    t = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for kind, ns, name, api_version, meta in OLD_ROWS:
            spec = {"destination": {"name": "local"}} if kind == "Application" else {}
            if kind == "Application":
                spec["source"] = {"repoURL": "git://127.0.0.1/config.git", "path": "app"}
                spec["destination"]["namespace"] = "web"
            body = {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}
            conn.execute(
                text(
                    "INSERT INTO resources (kind, namespace, name, api_version, body, status,"
                    " source, generation, created, updated) VALUES (:k, :ns, :n, :av, :b, :st,"
                    " '', 1, :t, :t)"
                ),
                {
                    "k": kind,
                    "ns": ns,
                    "n": name,
                    "av": api_version,
                    "b": json.dumps(body),
                    "st": json.dumps({"sync": {"status": "Synced"}}),
                    "t": t,
                },
            )


def _check_migrated(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        rows = conn.execute(
            text("SELECT kind, name, api_group, namespace, body, status FROM resources")
        ).all()
    assert version >= "0006"
    got = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    assert got == EXPECTED
    for kind, name, _, ns, body, status in rows:
        body = json.loads(body) if isinstance(body, str) else body
        assert body["metadata"].get("namespace", "") == ns, (kind, name)
        status = json.loads(status) if isinstance(status, str) else status
        assert status == {"sync": {"status": "Synced"}}  # status kept
    with warnings.catch_warnings():  # SQLite's reflection skips 0012's index on an expression
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        uniques = inspect(engine).get_unique_constraints("resources")
    assert [sorted(u["column_names"]) for u in uniques] == [
        ["api_group", "kind", "name", "namespace"]
    ]
    store = Store(engine)
    # Old rows are found where the kind's default puts them, and re-applying the same
    # YAML (which names no namespace) finds them unchanged.
    assert repo.get(store, "Application", "web").status == {"sync": {"status": "Synced"}}
    assert repo.find(store, "ConfigMap", "argocd-rbac-cm") is not None
    (again,) = model.parse_text(WEB.format(ns=""), "web.yaml")
    assert repo.apply(store, [again])[0][1] == "unchanged"
    # A second "web" in another namespace no longer collides.
    (dev,) = model.parse_text(WEB.format(ns=", namespace: dev"), "dev.yaml")
    assert repo.apply(store, [dev])[0][1] == "created"
    assert sorted(r.namespace for r in repo.list_kind(store, "Application")) == [
        "argocd",
        "dev",
        "team",
    ]


def test_sqlite_from_0004_keeps_resources(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _seed_at_0004(engine)
    _check_migrated(engine)
    engine.dispose()


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    name = f"ns_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        base = postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_postgres_from_0004_keeps_resources(pg_database: str) -> None:
    engine = create_engine(pg_database)
    _seed_at_0004(engine)
    _check_migrated(engine)
    engine.dispose()
