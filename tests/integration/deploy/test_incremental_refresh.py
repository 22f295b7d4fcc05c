"""Incremental refresh: listings derived from ``git diff-tree``, and the change index.

Real git (a local bare repository), an in-process ``MemoryTarget``; no podman.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import application, commit, write

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import compare, engine
from shipway.deploy.gitsource import ConfigRepo
from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


def _repo(tmp_path: Path) -> tuple[str, Repo]:
    bare = Repo.init(tmp_path / "cfg.git", bare=True)
    bare.run("symbolic-ref", "HEAD", "refs/heads/main")
    work = Repo.init(tmp_path / "work")
    work.run("checkout", "-q", "-B", "main")
    work.run("remote", "add", "origin", str(bare.path))
    return str(bare.path), work


def _cm(name: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"v": value}}  # fmt: skip


def _same(a: Any, b: Any) -> None:
    assert a.trees == b.trees
    assert a.blobs == b.blobs
    assert a.kustomized() == b.kustomized()
    for d in list(b.trees):
        for recurse in (False, True):
            assert sorted(a.files_under(d, recurse)) == sorted(b.files_under(d, recurse)), d


def test_derived_listing_equals_a_full_read(tmp_path: Path) -> None:
    url, work = _repo(tmp_path)
    write(work.path, "apps/a/cm.yaml", _cm("a", "1"))
    write(work.path, "apps/b/cm.yaml", _cm("b", "1"))
    write(work.path, "apps/c/x/cm.yaml", _cm("c", "1"))
    write(work.path, "gone/f.yaml", _cm("g", "1"))
    first = commit(work, "one")
    # modified, added, deleted files; a directory removed; a file that becomes a
    # directory; a kustomization added and one removed; a symlink
    write(work.path, "apps/a/cm.yaml", _cm("a", "2"))
    write(work.path, "apps/a/kustomization.yaml", {"resources": ["cm.yaml"]})
    write(work.path, "apps/new/cm.yaml", _cm("n", "1"))
    (work.path / "apps/b/cm.yaml").unlink()
    write(work.path, "apps/b/other.yaml", _cm("b", "2"))
    for p in ("gone/f.yaml",):
        (work.path / p).unlink()
    (work.path / "gone").rmdir()
    (work.path / "apps/c/x/cm.yaml").unlink()
    (work.path / "apps/c/x").rmdir()
    write(work.path, "apps/c/x", _cm("c", "file now"))
    (work.path / "apps/link.yaml").symlink_to("a/cm.yaml")
    work.add_all()
    work.commit("two")
    work.push("origin", "HEAD:refs/heads/main")
    write(work.path, "root.yaml", _cm("r", "1"))
    (work.path / "apps/a/kustomization.yaml").unlink()
    third = commit(work, "three")

    settings = Settings(home=tmp_path / "home", database_url="")
    incremental, whole = ConfigRepo(settings, url), ConfigRepo(settings, url)
    try:
        incremental.fetch()
        whole.fetched = True  # the same mirror
        base = incremental.listing(first)
        base.files_under("", True)  # the child index exists, so it is carried over too
        second = incremental.resolve("main^")
        derived = incremental.listing(second, base=first)
        assert incremental.changed(first, second) is not None
        changed = incremental.changed(first, second) or set()
        assert {"", "apps", "apps/a", "apps/a/cm.yaml", "gone", "gone/f.yaml", "apps/c/x",
                "apps/link.yaml"} <= changed  # fmt: skip
        assert "apps/new/cm.yaml" in changed and "apps/b/other.yaml" in changed
        _same(derived, whole.listing(second))
        assert "apps/a" in derived.kustomized()
        last = incremental.listing(third, base=second)
        _same(last, whole.listing(third))
        assert "apps/a" not in last.kustomized()
        assert incremental.changed(second, third) == {"", "root.yaml", "apps", "apps/a",
                                                       "apps/a/kustomization.yaml"}  # fmt: skip
        assert incremental.changed(first, third) is None  # not derived: unknown
    finally:
        incremental.close()
        whole.close()


@pytest.fixture
def env(tmp_path: Path) -> Any:
    url, work = _repo(tmp_path)
    for name in ("a", "b", "c"):
        write(work.path, f"apps/{name}/cm.yaml", _cm(name, "1"))
    commit(work, "apps")
    settings = Settings(home=tmp_path / "home", database_url="")
    store = open_store(settings)
    apps = [application(url, n, f"apps/{n}") for n in ("a", "b", "c")]
    for a in apps:
        a.body["spec"]["destination"] = {"name": "inc", "namespace": "default"}
    store_resources.apply(store, apps)
    target = MemoryTarget("inc")
    cluster.register("inc", target)
    try:
        yield url, work, settings, store, target
    finally:
        cluster.register("inc", None)
        compare.renderer(settings).close()
        store.close()


def _sync_all(store: Store, settings: Settings, target: MemoryTarget) -> None:
    first = engine.refresh_all(store, settings=settings)
    for name, st in first.items():
        target.apply(name, [d.desired for d in st.diffs if d.desired is not None])


def test_only_what_changed_is_compared_and_nothing_is_lost(env: Any) -> None:
    _url, work, settings, store, target = env
    _sync_all(store, settings, target)
    renderer = compare.renderer(settings)
    steady = engine.refresh_all(store, settings=settings)
    assert {s.sync_status for s in steady.values()} == {"Synced"}

    # live drift on one app: only that app is compared, and it is OutOfSync
    target.objects["b"]["/ConfigMap/default/b"]["data"] = {"v": "drifted"}
    target.versions["b"] += 1
    target._changes.note("b")
    before = renderer.renders
    got = engine.refresh_all(store, settings=settings)
    assert renderer.renders - before == 1
    assert {n: s.sync_status for n, s in got.items()} == {
        "a": "Synced", "b": "OutOfSync", "c": "Synced"}  # fmt: skip

    # a commit that touches c, in a pass that asks for a only: c is left for later,
    # and the next full pass compares it (the change is not lost)
    write(work.path, "apps/c/cm.yaml", _cm("c", "2"))
    commit(work, "touch c")
    only_a = engine.refresh_all(store, ["a"], settings=settings)
    assert set(only_a) == {"a"} and only_a["a"].sync_status == "Synced"
    before = renderer.renders
    later = engine.refresh_all(store, settings=settings)
    assert renderer.renders - before == 1
    assert later["c"].sync_status == "OutOfSync"
    assert store_resources.get(store, "Application", "c").status["sync"]["status"] == "OutOfSync"

    # a spec change (a new generation) is compared at once
    app = store_resources.get(store, "Application", "a")
    app.body["spec"]["source"]["path"] = "apps/b"
    store_resources.apply(store, [app])
    moved = engine.refresh_all(store, settings=settings)
    assert moved["a"].sync_status == "OutOfSync"  # it now renders b's ConfigMap
    assert store_resources.get(store, "Application", "a").status["sync"]["status"] == "OutOfSync"
