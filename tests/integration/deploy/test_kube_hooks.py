"""Hooks and waves against the Kubernetes API fake: Jobs as hooks (Helm's annotations
mapped), a ``generateName`` hook, each object created once and in phase/wave order."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_helpers import commit, deployment, kube_app, write

from shipway.deploy import engine
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _job(annotations: dict[str, str], name: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"annotations": annotations}
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = "mid-"
    pod = {"restartPolicy": "Never", "containers": [{"name": "j", "image": "example/j:1"}]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {"template": {"spec": pod}},
    }


def _cm(name: str, wave: int) -> dict[str, Any]:
    ann = {"argocd.argoproj.io/sync-wave": str(wave)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "annotations": ann}}


def test_hooks_and_waves_on_kubernetes(deploy_env, config_repo, fake) -> None:
    url, work = config_repo
    web = deployment("registry.example/web:1", wave=2)
    docs = [
        web,
        _cm("c2", 2),
        _job({"argocd.argoproj.io/hook": "PostSync"}, "smoke"),
        _job({"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/sync-wave": "1"}),
        _cm("c0", 0),
        _job(
            {
                "helm.sh/hook": "pre-install,pre-upgrade",
                "helm.sh/hook-delete-policy": "hook-succeeded",
            },
            "migrate",
        ),
        _job({"helm.sh/hook": "test"}, "helm-test"),
    ]
    write(work.path, "apps/k/all.yaml", docs)
    sha = commit(work, "hooks and waves")
    store_resources.apply(deploy_env.store, kube_app(url, fake.url, "khooks", "apps/k"))

    res = engine.reconcile(deploy_env.store, "khooks", settings=deploy_env.settings)

    assert res.phase == "Succeeded", res.message
    added = [
        o["metadata"]["name"]
        for _, kind, etype, o in list(fake.store.events)
        if etype == "ADDED" and kind != "Namespace"
    ]
    [mid] = [n for n in added if n.startswith("mid-")]
    assert mid.startswith(f"mid-{sha[:7]}-sync-")
    assert added == ["migrate", "c0", mid, "c2", "web", "smoke"]  # each once, in order
    assert ("Job", "team", "migrate") not in fake.store.objects  # helm hook-succeeded
    assert ("Job", "team", mid) in fake.store.objects  # BeforeHookCreation: kept until next
    assert ("Job", "team", "helm-test") not in fake.store.objects  # no Argo CD equivalent
    status = store_resources.get(deploy_env.store, "Application", "khooks").status
    hooks = [
        (r["name"], r["hookType"], r["hookPhase"], r["syncWave"])
        for r in status["operationState"]["syncResult"]["resources"]
        if "hookType" in r
    ]
    assert hooks == [
        ("migrate", "PreSync", "Succeeded", 0),
        (mid, "Sync", "Succeeded", 1),
        ("smoke", "PostSync", "Succeeded", 0),
    ]
    assert status["sync"]["status"] == "Synced"
    assert {r["name"] for r in status["resources"]} == {"c0", "c2", "web"}
