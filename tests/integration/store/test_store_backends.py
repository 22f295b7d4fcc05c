"""The store works the same on SQLite (default) and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.model import resources
from shipway.model.errors import NotFoundError
from shipway.model.release import Release
from shipway.settings import Settings
from shipway.store import releases, runs
from shipway.store import resources as repo
from shipway.store.db import Store, open_store

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: hello-dev}
spec:
  source: {repoURL: "git://h/config.git", path: overlays/dev}
  destination: {name: local}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        st = open_store(Settings(home=tmp_path / "home", database_url=""))
    else:
        url = request.getfixturevalue("postgres_url")
        st = open_store(Settings(home=tmp_path / "home", database_url=url))
        with st.engine.begin() as conn:  # each test starts from empty tables
            for table in ("resources", "releases", "ci_runs", "engine_state", "events"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    yield st
    st.close()


def test_apply_reports_created_unchanged_configured(store: Store) -> None:
    res = resources.parse_text(APP, "a.yaml")
    assert [r for _, r in repo.apply(store, res)] == ["created"]
    assert [r for _, r in repo.apply(store, res)] == ["unchanged"]
    changed = resources.parse_text(APP.replace("overlays/dev", "overlays/prod"), "a.yaml")
    assert [r for _, r in repo.apply(store, changed)] == ["configured"]
    assert repo.get(store, "Application", "hello-dev").spec["source"]["path"] == "overlays/prod"


def test_status_and_delete(store: Store) -> None:
    repo.apply(store, resources.parse_text(APP, "a.yaml"))
    repo.set_status(store, "Application", "hello-dev", {"sync": {"status": "Synced"}})
    assert repo.get(store, "Application", "hello-dev").status["sync"]["status"] == "Synced"
    repo.delete(store, "Application", "hello-dev")
    with pytest.raises(NotFoundError):
        repo.get(store, "Application", "hello-dev")


def test_release_round_trip_and_prefix_lookup(store: Store) -> None:
    rel = Release(id="abcdef123456", app="hello-dev", commit="c0ffee" * 6)
    rel.start("ci")
    rel.finish("ci", True)
    releases.save(store, rel)
    got = releases.get(store, "abcdef")
    assert got.stage("ci").status == "Succeeded"
    assert got.stage("ci").seconds is not None
    assert [r.id for r in releases.for_commit(store, rel.commit)] == ["abcdef123456"]


def test_releases_by_app_namespace(store: Store) -> None:
    for rid, app in (("r1", "web"), ("r2", "team_web"), ("r3", "teamx_web"), ("r4", "t%_a")):
        releases.save(store, Release(id=rid, app=app, commit="c" * 40))

    def ids(namespace: str | None) -> list[str]:
        return sorted(r.id for r in releases.list_releases(store, namespace=namespace))

    assert ids(None) == ["r1", "r2", "r3", "r4"]
    assert (ids("argocd"), ids("team"), ids("t%"), ids("t")) == (["r1"], ["r2"], ["r4"], [])


def test_engine_state_upsert(store: Store) -> None:
    runs.put_state(store, "sync", "hello-dev", "Running", {"step": 1})
    runs.put_state(store, "sync", "hello-dev", "Succeeded", {"step": 2})
    assert runs.get_state(store, "sync", "hello-dev") == ("Succeeded", {"step": 2})
    assert runs.get_state(store, "sync", "other") is None


def test_find_each_reads_many_objects_at_once(store: Store) -> None:
    """What a routing pass reads in one query a kind: namespaced and cluster-scoped objects,
    more than one chunk of names, the missing left out."""
    freight = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{name: f{i}, "
        "namespace: shop, labels: {{n: '{i}'}}}}\norigin: {{kind: Warehouse, name: w}}\n"
        "images: [{{repoURL: r.example/web, tag: '{i}', digest: 'sha256:{d}'}}]\n"
    )
    docs = [freight.format(i=i, d=f"{i:064x}") for i in range(620)]
    docs.append("apiVersion: shipway.dev/v1alpha1\nkind: Cluster\nmetadata: {name: k}\n"
                "spec: {type: kubernetes, server: 'https://127.0.0.1:1'}\n")  # fmt: skip
    docs.append(APP)
    repo.apply(store, resources.parse_text("---\n".join(docs), "many.yaml"))
    refs = [("Freight", f"f{i}", "shop") for i in range(620)]
    refs += [("Freight", "nope", "shop"), ("Freight", "f1", "elsewhere"), ("Cluster", "k", None),
             ("Application", "hello-dev", None)]  # fmt: skip
    found = repo.find_each(store, refs)
    assert len(found) == 622
    assert found[("Freight", "shop", "f617")].metadata["labels"] == {"n": "617"}
    assert ("Freight", "shop", "nope") not in found
    assert ("Freight", "elsewhere", "f1") not in found
    assert found[("Cluster", "", "k")].name == "k"
    assert found[("Application", "", "hello-dev")].namespace == "argocd"
