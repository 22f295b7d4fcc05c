"""Secrets and PersistentVolumeClaims on the podman host: a podman secret feeds the
container's environment, a claim becomes a podman volume; prune removes both."""

from __future__ import annotations

import pytest
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.runtime.ports import free_port
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def test_secret_and_volume(deploy_env, config_repo, httpd_images) -> None:
    url, work = config_repo
    port = free_port()
    dep = deployment(httpd_images["v1"])
    pod = dep["spec"]["template"]["spec"]
    pod["containers"][0]["env"] = [
        {"name": "MSG", "valueFrom": {"secretKeyRef": {"name": "web-secret", "key": "msg"}}}
    ]
    pod["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}}]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "web-secret"},
        "stringData": {"msg": "from-a-secret"},
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "web-data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    write(work.path, "apps/s/all.yaml", [dep, service(port), secret, pvc])
    commit(work, "secret and pvc")
    store_resources.apply(deploy_env.store, [application(url, "kinds", "apps/s")])

    res = engine.reconcile(deploy_env.store, "kinds", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert engine.wait_healthy(deploy_env.store, "kinds", 60, settings=deploy_env.settings) == (
        "Healthy"
    )
    assert http_get(port, "/msg.txt") == "from-a-secret"
    live = deploy_env.target.live("kinds")
    assert live["/PersistentVolumeClaim/default/web-data"]["status"] == {"phase": "Bound"}
    volumes = deploy_env.target.podman("volume", "ls", "--format", "{{.Name}}").split()
    assert "web-data" in volumes

    write(work.path, "apps/s/all.yaml", [deployment(httpd_images["v1"]), service(port)])
    commit(work, "drop them")
    res = engine.reconcile(deploy_env.store, "kinds", prune=True, settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    pruned = {r.key for r in res.resources if r.status == "Pruned"}
    assert pruned == {"/Secret/default/web-secret", "/PersistentVolumeClaim/default/web-data"}
    volumes = deploy_env.target.podman("volume", "ls", "--format", "{{.Name}}").split()
    assert "web-data" not in volumes
    assert http_get(port, "/msg.txt") == "plain"
