"""argocd-cm Lua health customizations stored with ``shipway apply`` drive the app health."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from deploy_helpers import application, commit, write

from shipway import cluster
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import engine
from shipway.model.resources import parse_text
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration

CERT: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "web-tls"},
    "spec": {"secretName": "web-tls"},
    "status": {
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "Failed", "message": "order failed"}
        ]
    },
}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}}


def _argocd_cm(script: str) -> str:
    body = "\n".join("    " + line for line in script.splitlines())
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm, namespace: argocd}\n"
        f"data:\n  resource.customizations.health.cert-manager.io_Certificate: |\n{body}\n"
    )


@pytest.fixture
def memory() -> Iterator[MemoryTarget]:
    target = MemoryTarget("mem-health")
    cluster.register("mem-health", target)
    yield target
    cluster.register("mem-health", None)


def test_lua_customization_from_the_stored_argocd_cm(deploy_env, config_repo, memory) -> None:
    url, work = config_repo
    write(work.path, "app/cert.yaml", CERT)
    write(work.path, "app/cm.yaml", CM)
    commit(work, "cert")
    app = application(url, "tls", "app")
    app.body["spec"]["destination"] = {"name": "mem-health", "namespace": "default"}
    store_resources.apply(deploy_env.store, [app])

    res = engine.reconcile(deploy_env.store, "tls", settings=deploy_env.settings)
    assert res.phase == "Succeeded"
    status = store_resources.get(deploy_env.store, "Application", "tls").status
    assert status["health"].pop("lastTransitionTime").endswith("Z")
    assert status["health"] == {"status": "Degraded", "message": "order failed"}  # built-in

    script = 'return {status = "Healthy", message = "lua: " .. obj.metadata.name}'
    store_resources.apply(deploy_env.store, parse_text(_argocd_cm(script), "argocd-cm.yaml"))
    engine.refresh(deploy_env.store, "tls", settings=deploy_env.settings)
    status = store_resources.get(deploy_env.store, "Application", "tls").status
    assert status["health"]["status"] == "Healthy"
    cert = next(r for r in status["resources"] if r["kind"] == "Certificate")
    assert cert["health"] == {"status": "Healthy", "message": "lua: web-tls"}

    looping = "local n = 0\nwhile true do\n  n = n + 1\nend"
    store_resources.apply(deploy_env.store, parse_text(_argocd_cm(looping), "argocd-cm.yaml"))
    engine.refresh(deploy_env.store, "tls", settings=deploy_env.settings)
    status = store_resources.get(deploy_env.store, "Application", "tls").status
    assert status["health"]["status"] == "Unknown"
    key = "resource.customizations.health.cert-manager.io_Certificate"
    assert status["health"]["message"].startswith(f"{key}:")
    assert "script stopped" in status["health"]["message"]
