"""A commit to a monorepo re-renders only the applications whose inputs it changed."""

from __future__ import annotations

import pytest
from deploy_helpers import application, commit, write

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import compare, engine
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _cm(name: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }


def test_one_app_commit_rerenders_one_app(deploy_env, config_repo) -> None:
    url, work = config_repo
    for i in range(3):
        write(work.path, f"apps/a{i}/cm.yaml", _cm(f"c{i}", "1"))
    write(work.path, "base/cm.yaml", _cm("shared", "1"))
    write(work.path, "base/kustomization.yaml", {"resources": ["cm.yaml"]})
    write(work.path, "apps/k/kustomization.yaml", {"resources": ["../../base"]})
    commit(work, "apps")
    apps = [application(url, f"a{i}", f"apps/a{i}") for i in range(3)]
    apps.append(application(url, "k", "apps/k"))
    for a in apps:
        a.body["spec"]["destination"] = {"name": "mem", "namespace": "default"}
    store_resources.apply(deploy_env.store, apps)
    target = MemoryTarget("mem")
    cluster.register("mem", target)
    try:
        first = engine.refresh_all(deploy_env.store, settings=deploy_env.settings)
        assert not first["k"].conditions, first["k"].conditions
        assert {n: s.sync_status for n, s in first.items()} == dict.fromkeys(
            ["a0", "a1", "a2", "k"], "OutOfSync"
        )
        for name in first:
            engine.reconcile(deploy_env.store, name, settings=deploy_env.settings)
        renderer = compare.renderer(deploy_env.settings)

        before = renderer.renders
        steady = engine.refresh_all(deploy_env.store, settings=deploy_env.settings)
        assert {s.sync_status for s in steady.values()} == {"Synced"}
        # live changed since the last comparison: all compared again; the kustomize
        # output comes from the render cache (same inputs), the directories are re-read
        assert renderer.renders - before == 3

        write(work.path, "apps/a1/cm.yaml", _cm("c1", "2"))
        commit(work, "touch a1")
        before = renderer.renders
        after = engine.refresh_all(deploy_env.store, settings=deploy_env.settings)
        assert renderer.renders - before == 1
        assert {n: s.sync_status for n, s in after.items()} == {
            "a0": "Synced",
            "a1": "OutOfSync",
            "a2": "Synced",
            "k": "Synced",
        }
        status = store_resources.get(deploy_env.store, "Application", "a1").status
        assert status["sync"]["status"] == "OutOfSync"

        write(work.path, "base/cm.yaml", _cm("shared", "2"))
        commit(work, "touch base")
        before = renderer.renders
        after = engine.refresh_all(deploy_env.store, settings=deploy_env.settings)
        assert renderer.renders - before == 1  # only k: its kustomization reads base/
        assert after["k"].sync_status == "OutOfSync"
    finally:
        cluster.register("mem", None)


def test_application_kustomize_options(deploy_env, config_repo) -> None:
    url, work = config_repo
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"a": "w"}},
            "template": {
                "metadata": {"labels": {"a": "w"}},
                "spec": {"containers": [{"name": "c", "image": "registry.example/web:v1"}]},
            },
        },
    }
    write(work.path, "apps/w/dep.yaml", dep)
    write(work.path, "apps/w/kustomization.yaml", {"resources": ["dep.yaml"]})
    commit(work, "w")
    app = application(url, "w", "apps/w")
    app.body["spec"]["destination"] = {"name": "mem", "namespace": "default"}
    app.body["spec"]["source"]["kustomize"] = {
        "images": ["registry.example/web=registry.example/web:v9"],
        "namePrefix": "dev-",
    }
    store_resources.apply(deploy_env.store, [app])
    cluster.register("mem", MemoryTarget("mem"))
    try:
        st = engine.refresh(deploy_env.store, "w", settings=deploy_env.settings)
    finally:
        cluster.register("mem", None)
    [d] = st.diffs
    assert d.key == "apps/Deployment/default/dev-web"
    assert d.desired["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example/web:v9"
    )
