"""The reconciler against the Kubernetes API fake: server-side apply, watch cache,
drift and self-heal, ignoreDifferences, CreateNamespace, Replace, prune, unknown kinds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from deploy_helpers import commit, deployment, write

from fake_kube.server import FakeKube
from shipway import cluster
from shipway.deploy import engine
from shipway.model import resources as model
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    server = FakeKube()
    yield server
    cluster.close_all()
    server.close()


def _resources(url: str, server: str, options: list[str], extra: dict | None = None) -> list:
    docs = [
        {
            "apiVersion": "shipway.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "k"},
            "spec": {"type": "kubernetes", "server": server},
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "kapp"},
            "spec": {
                "source": {"repoURL": url, "path": "apps/k", "targetRevision": "main"},
                "destination": {"name": "k", "namespace": "team"},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": options,
                },
                **(extra or {}),
            },
        },
    ]
    return model.parse_text(yaml.safe_dump_all(docs), "k.yaml")


def test_sync_drift_selfheal_and_prune_on_kubernetes(deploy_env, config_repo, fake) -> None:
    url, work = config_repo
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    write(work.path, "apps/k/all.yaml", [deployment("registry.example/web:1"), cm])
    first = commit(work, "k")
    store = deploy_env.store
    store_resources.apply(store, _resources(url, fake.url, ["CreateNamespace=true"]))

    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert res.revision == first and res.sync_status == "Synced" and res.health == "Healthy"
    live = fake.store.objects[("Deployment", "team", "web")]
    assert live["metadata"]["labels"]["app.kubernetes.io/instance"] == "kapp"
    assert {m["manager"] for m in live["metadata"]["managedFields"]} == {"shipway"}
    assert ("Namespace", "", "team") in fake.store.objects

    # somebody scales it behind git's back: drift, then self-heal puts it back
    with fake.store.lock:
        cur = fake.store.objects[("Deployment", "team", "web")]
        changed = {**cur, "spec": {**cur["spec"], "replicas": 4}}
        kind = next(
            k for k in __import__("fake_kube.resources").resources.KINDS if k.kind == "Deployment"
        )
        fake.store.replace(kind, "team", "web", changed)
    drift = _wait_for(
        lambda: engine.refresh(store, "kapp", settings=deploy_env.settings),
        lambda st: st.sync_status == "OutOfSync",
    )
    assert [d.key for d in drift.out_of_sync] == ["apps/Deployment/team/web"]
    assert "-  replicas: 4" in drift.out_of_sync[0].text
    [healed] = engine.self_heal_pass(store, settings=deploy_env.settings)
    assert healed.phase == "Succeeded"
    assert fake.store.objects[("Deployment", "team", "web")]["spec"]["replicas"] == 1

    # the same drift, ignored by an ignoreDifferences rule
    app = store_resources.get(store, "Application", "kapp")
    app.body["spec"]["ignoreDifferences"] = [
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    ]
    store_resources.apply(store, [app])
    with fake.store.lock:
        cur = fake.store.objects[("Deployment", "team", "web")]
        fake.store.replace(kind, "team", "web", {**cur, "spec": {**cur["spec"], "replicas": 2}})
    st = engine.refresh(store, "kapp", settings=deploy_env.settings)
    assert st.sync_status == "Synced"

    # a removed object is pruned; an unknown kind is a ComparisonError, nothing applied
    write(work.path, "apps/k/all.yaml", [deployment("registry.example/web:2")])
    commit(work, "drop cfg")
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded"
    assert ("ConfigMap", "team", "cfg") not in fake.store.objects
    img = fake.store.objects[("Deployment", "team", "web")]["spec"]["template"]["spec"]
    assert img["containers"][0]["image"] == "registry.example/web:2"
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    write(work.path, "apps/k/widget.yaml", widget)
    commit(work, "widget")
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Error" and "Widget" in res.message and "apps/k/widget.yaml" in res.message


def test_replace_option_and_api_errors_per_object(deploy_env, config_repo, fake) -> None:
    url, work = config_repo
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}, "data": {"a": "1"}}
    write(work.path, "apps/k/cm.yaml", bad)
    commit(work, "cm")
    store = deploy_env.store
    store_resources.apply(store, _resources(url, fake.url, ["Replace=true"]))
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Failed"  # namespace "team" does not exist and CreateNamespace is off
    assert 'namespaces "team" not found' in res.resources[0].message
    with fake.store.lock:
        fake.store.create(
            __import__("fake_kube.resources").resources.KINDS[0],
            "",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}},
        )
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert [r.action for r in res.resources] == ["replaced"]
    managers = {
        m["manager"]
        for m in fake.store.objects[("ConfigMap", "team", "ok")]["metadata"]["managedFields"]
    }
    assert managers == {"shipway"}


def _wait_for(fn, ok, tries: int = 50):
    import time

    for _ in range(tries):
        got = fn()
        if ok(got):
            return got
        time.sleep(0.1)
    return got


def test_unreachable_cluster_leaves_the_app_unknown(deploy_env, config_repo) -> None:
    from shipway.runtime.ports import free_port

    url, work = config_repo
    write(
        work.path,
        "apps/k/cm.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
    )
    commit(work, "cm")
    store = deploy_env.store
    store_resources.apply(store, _resources(url, f"http://127.0.0.1:{free_port()}", []))
    st = engine.refresh(store, "kapp", settings=deploy_env.settings)
    assert st.health == "Unknown" and st.sync_status == "Unknown"
    assert st.conditions[0]["type"] == "UnknownError"
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Error" and res.health == "Unknown"


def test_job_hooks_on_kubernetes(deploy_env, config_repo, fake) -> None:
    url, work = config_repo
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "migrate",
            "annotations": {
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            },
        },
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "m", "image": "registry.example/migrate:1"}],
                }
            }
        },
    }
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    write(work.path, "apps/k/all.yaml", [job, cm])
    commit(work, "job hook")
    store_resources.apply(deploy_env.store, _resources(url, fake.url, ["CreateNamespace=true"]))
    res = engine.reconcile(deploy_env.store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert [(r.key, r.hook_phase) for r in res.resources if r.hook_type] == [
        ("batch/Job/team/migrate", "Succeeded")
    ]
    assert ("Job", "team", "migrate") not in fake.store.objects  # HookSucceeded
    assert ("ConfigMap", "team", "c") in fake.store.objects
