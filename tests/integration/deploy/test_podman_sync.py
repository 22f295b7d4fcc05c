"""Sync a kustomize overlay onto the real podman host, roll it forward, prune, roll back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from deploy_helpers import commit, http_get

from shipway.deploy import engine, history
from shipway.model import resources as model
from shipway.runtime.ports import free_port
from shipway.store import events as store_events
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _write(root: Path, rel: str, data: object) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    docs = data if isinstance(data, list) else [data]
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def _base(root: Path, image: str, port: int, extra: bool) -> None:
    _write(
        root,
        "base/deployment.yaml",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "httpd",
                                "image": image,
                                "ports": [{"containerPort": 8080}],
                                "env": [
                                    {
                                        "name": "MSG",
                                        "valueFrom": {
                                            "configMapKeyRef": {
                                                "name": "web-config",
                                                "key": "message",
                                            }
                                        },
                                    }
                                ],
                            }
                        ],
                    },
                },
            },
        },
    )
    _write(
        root,
        "base/service.yaml",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": port}],
            },
        },
    )
    _write(
        root,
        "base/configmap.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-config"},
            "data": {"message": "base"},
        },
    )
    resources = ["deployment.yaml", "service.yaml", "configmap.yaml"]
    if extra:
        _write(
            root,
            "base/extra.yaml",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "extra"},
                "data": {"x": "1"},
            },
        )
        resources.append("extra.yaml")
    elif (root / "base/extra.yaml").exists():
        (root / "base/extra.yaml").unlink()
    _write(root, "base/kustomization.yaml", {"resources": resources})


def _overlay(root: Path, message: str) -> None:
    _write(
        root,
        "overlays/dev/kustomization.yaml",
        {"resources": ["../../base"], "patches": [{"path": "config.yaml"}]},
    )
    _write(
        root,
        "overlays/dev/config.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-config"},
            "data": {"message": message},
        },
    )


def _app(url: str, name: str = "web-dev") -> model.Resource:
    return model.parse_text(
        yaml.safe_dump(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {"name": name},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": url, "path": "overlays/dev", "targetRevision": "main"},
                    "destination": {"name": "local", "namespace": "dev"},
                },
            }
        ),
        "app.yaml",
    )[0]


def test_kustomize_app_runs_rolls_forward_prunes_and_rolls_back(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    port = free_port()
    _base(work.path, httpd_images["v1"], port, extra=True)
    _overlay(work.path, "hello")
    first = commit(work, "v1")
    store = deploy_env.store
    store_resources.apply(store, [_app(url)])

    before = engine.refresh(store, "web-dev", settings=deploy_env.settings)
    assert before.sync_status == "OutOfSync" and before.revision == first
    assert {d.kind for d in before.out_of_sync} == {"Deployment", "Service", "ConfigMap"}

    res = engine.reconcile(store, "web-dev", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert res.revision == first and res.sync_status == "Synced"
    assert engine.wait_healthy(store, "web-dev", 60, settings=deploy_env.settings) == "Healthy"
    assert http_get(port, "/index.html") == "v1"
    assert http_get(port, "/msg.txt") == "hello"
    live = deploy_env.target.live("web-dev")
    assert "/ConfigMap/dev/extra" in live

    _base(work.path, httpd_images["v2"], port, extra=False)
    _overlay(work.path, "bye")
    second = commit(work, "v2")
    changed = engine.refresh(store, "web-dev", settings=deploy_env.settings)
    assert changed.sync_status == "OutOfSync" and changed.revision == second
    assert any(d.desired is None and d.kind == "ConfigMap" for d in changed.out_of_sync)

    res = engine.reconcile(store, "web-dev", prune=True, settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert {r.key: r.status for r in res.resources}["/ConfigMap/dev/extra"] == "Pruned"
    assert engine.wait_healthy(store, "web-dev", 60, settings=deploy_env.settings) == "Healthy"
    assert http_get(port, "/index.html") == "v2"
    assert http_get(port, "/msg.txt") == "bye"
    assert "/ConfigMap/dev/extra" not in deploy_env.target.live("web-dev")

    status = store_resources.get(store, "Application", "web-dev").status
    assert status["sync"] == {**status["sync"], "status": "Synced", "revision": second}
    assert status["health"]["status"] == "Healthy"
    assert [h["revision"] for h in status["history"]] == [first, second]
    assert status["operationState"]["phase"] == "Succeeded"

    back = history.rollback(store, "web-dev", settings=deploy_env.settings)
    assert back.phase == "Succeeded" and back.revision == first and not back.pinned
    (rolled,) = [
        e for e in store_events.query(store, kind="Application") if e.reason == "RolledBack"
    ]
    assert rolled.type == "Normal" and f"rolled back to {first}" in rolled.message
    assert engine.wait_healthy(store, "web-dev", 60, settings=deploy_env.settings) == "Healthy"
    assert http_get(port, "/index.html") == "v1"
