"""The reconciler against the Kubernetes API fake: server-side apply, watch cache,
drift and self-heal, ignoreDifferences, CreateNamespace, Replace, prune, unknown kinds."""

from __future__ import annotations

import json

import pytest
from deploy_helpers import commit, deployment, kube_app, write

from shipway.deploy import engine
from shipway.model import resources as model
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _resources(url: str, server: str, options: list[str]) -> list[model.Resource]:
    policy = {"automated": {"prune": True, "selfHeal": True}, "syncOptions": options}
    return kube_app(url, server, "kapp", "apps/k", policy)


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
    # a replaced object carries what was applied (kubectl replace --save-config), so a
    # key removed from git is drift read from the last-applied annotation
    live = fake.store.objects[("ConfigMap", "team", "ok")]
    saved = json.loads(live["metadata"]["annotations"][LAST_APPLIED])
    assert saved["data"] == {"a": "1"} and LAST_APPLIED not in saved["metadata"].get(
        "annotations", {}
    )
    assert engine.refresh(store, "kapp", settings=deploy_env.settings).sync_status == "Synced"
    write(work.path, "apps/k/cm.yaml", {**bad, "data": {"b": "2"}})
    commit(work, "replace a by b")
    st = engine.refresh(store, "kapp", settings=deploy_env.settings)
    assert st.sync_status == "OutOfSync" and "-  a: '1'\n+  b: '2'\n" in st.out_of_sync[0].text
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert fake.store.objects[("ConfigMap", "team", "ok")]["data"] == {"b": "2"}
    assert engine.refresh(store, "kapp", settings=deploy_env.settings).sync_status == "Synced"


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


def test_fields_removed_from_git_are_drift_by_managed_fields(deploy_env, config_repo, fake) -> None:
    """shipway's server-side-apply managed fields are its last applied configuration: a
    label and an env var removed from git make the app OutOfSync, the diff shows the
    removal, and the automated sync of that commit removes them live."""
    url, work = config_repo
    dep = deployment("registry.example/web:1")
    dep["metadata"]["labels"] = {"tier": "frontend"}
    web = dep["spec"]["template"]["spec"]["containers"][0]
    web["env"] = [{"name": "DEBUG", "value": "1"}, {"name": "LOG", "value": "info"}]
    write(work.path, "apps/k/all.yaml", [dep])
    commit(work, "with label and env")
    store = deploy_env.store
    store_resources.apply(store, _resources(url, fake.url, ["CreateNamespace=true"]))
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    live = fake.store.objects[("Deployment", "team", "web")]
    assert live["metadata"]["labels"]["tier"] == "frontend"

    # a webhook injects a sidecar: not shipway's, so no drift
    with fake.store.lock:
        cur = fake.store.objects[("Deployment", "team", "web")]
        injected = __import__("copy").deepcopy(cur)
        injected["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "s:1"})
        kind = next(
            k for k in __import__("fake_kube.resources").resources.KINDS if k.kind == "Deployment"
        )
        fake.store.replace(kind, "team", "web", injected)
    st = _wait_for(
        lambda: engine.refresh(store, "kapp", settings=deploy_env.settings),
        lambda st: "side" in str(st.diffs[0].live),
    )
    assert st.sync_status == "Synced", [d.text for d in st.out_of_sync]

    del dep["metadata"]["labels"]
    web["env"] = [{"name": "LOG", "value": "info"}]
    write(work.path, "apps/k/all.yaml", [dep])
    removal = commit(work, "only removes a label and an env var")
    st = engine.refresh(store, "kapp", settings=deploy_env.settings)
    assert st.sync_status == "OutOfSync"
    [d] = st.out_of_sync
    minus = [ln for ln in d.text.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln for ln in d.text.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert minus == ["-    tier: frontend", "-        - name: DEBUG", "-          value: '1'"]
    assert plus == []

    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)  # automated sync
    assert res.phase == "Succeeded" and res.revision == removal, res.message
    live = fake.store.objects[("Deployment", "team", "web")]
    assert "tier" not in live["metadata"]["labels"]
    containers = live["spec"]["template"]["spec"]["containers"]
    assert sorted(c["name"] for c in containers) == ["httpd", "side"]
    web_live = next(c for c in containers if c["name"] == "httpd")
    assert [e["name"] for e in web_live["env"]] == ["LOG"]
    st = engine.refresh(store, "kapp", settings=deploy_env.settings)
    assert st.sync_status == "Synced", [d.text for d in st.out_of_sync]


def test_namespace_on_a_cluster_scoped_object_is_no_difference(
    deploy_env, config_repo, fake
) -> None:
    url, work = config_repo
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader", "namespace": "team"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }
    write(work.path, "apps/k/role.yaml", role)
    commit(work, "cluster role with a namespace")
    store = deploy_env.store
    store_resources.apply(store, _resources(url, fake.url, ["CreateNamespace=true"]))
    res = engine.reconcile(store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert ("ClusterRole", "", "reader") in fake.store.objects
    st = engine.refresh(store, "kapp", settings=deploy_env.settings)
    assert st.sync_status == "Synced", [d.text for d in st.out_of_sync]
    assert [d.key for d in st.diffs] == ["rbac.authorization.k8s.io/ClusterRole//reader"]
