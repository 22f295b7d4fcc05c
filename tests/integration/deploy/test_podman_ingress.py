"""Ingress on real podman: host and path rules through the home's one loopback proxy port."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from deploy_helpers import application, commit, deployment, service, write

from shipway.cluster import podman_ingress
from shipway.deploy import engine
from shipway.deploy import health as health_mod
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _ingress() -> dict[str, Any]:
    def path(p: str, kind: str, svc: str, port: dict[str, Any]) -> dict[str, Any]:
        return {"path": p, "pathType": kind, "backend": {"service": {"name": svc, "port": port}}}

    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "a.example.test",
                    "http": {"paths": [path("/", "Prefix", "a", {"number": 80})]},
                },
                {
                    "host": "b.example.test",
                    "http": {
                        "paths": [
                            path("/", "Prefix", "b", {"name": "http"}),
                            path("/index.html", "Exact", "a", {"number": 80}),
                        ]
                    },
                },
            ],
        },
    }


def _get(port: int, host: str, path: str = "/", timeout: float = 30.0) -> tuple[int, str]:
    """``(status, body)`` of a request through the proxy with ``Host: host``."""
    deadline = time.monotonic() + timeout
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    while True:
        try:
            with urllib.request.urlopen(req, timeout=3) as resp:
                return resp.status, resp.read().decode().strip()
        except urllib.error.HTTPError as exc:
            if exc.code not in (502, 503) or time.monotonic() > deadline:
                return exc.code, exc.read().decode().strip()
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def _host_ports(env) -> dict[str, list[dict[str, Any]]]:
    raw = env.target.podman("ps", "--format", "json")
    return {
        c["Names"][0]: c.get("Ports") or [] for c in json.loads(raw or "[]") if c.get("IsInfra")
    }


def test_ingress_routes_hosts_and_paths_and_removing_it_removes_the_routes(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    svc_a = service(80, name="a", kind="ClusterIP")
    svc_b = service(80, name="b", kind="ClusterIP")
    svc_b["spec"]["ports"][0]["name"] = "http"
    apps = [
        deployment(httpd_images["v1"], name="a"),
        svc_a,
        deployment(httpd_images["v2"], name="b"),
        svc_b,
    ]
    write(work.path, "apps/i/web.yaml", apps)
    write(work.path, "apps/i/ingress.yaml", _ingress())
    commit(work, "two backends behind an ingress")
    store_resources.apply(deploy_env.store, [application(url, "ing", "apps/i")])

    res = engine.reconcile(deploy_env.store, "ing", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    port = podman_ingress.proxy_port(deploy_env.target.base)
    assert port is not None

    assert _get(port, "a.example.test") == (200, "v1")
    assert _get(port, "b.example.test:8000") == (200, "v2")  # the Host's port is not matched
    assert _get(port, "b.example.test", "/index.html") == (200, "v1")  # Exact beats Prefix /
    assert _get(port, "c.example.test")[0] == 404

    live = deploy_env.target.live("ing")["networking.k8s.io/Ingress/default/web"]
    assert live["status"]["loadBalancer"]["ingress"][0]["ip"] == "127.0.0.1"
    assert health_mod.of(live)[0] == "Healthy"
    # the backends are published on 127.0.0.1 only, and nothing else is published
    published = [p for ps in _host_ports(deploy_env).values() for p in ps]
    assert len(published) == 2 and all(p["host_ip"] == "127.0.0.1" for p in published)
    assert engine.wait_healthy(deploy_env.store, "ing", 60, settings=deploy_env.settings) == (
        "Healthy"
    )

    # removing the Ingress from git and pruning removes the routes and the backend ports
    (work.path / "apps/i/ingress.yaml").unlink()
    commit(work, "no ingress")
    res = engine.reconcile(deploy_env.store, "ing", prune=True, settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert _get(port, "a.example.test")[0] == 404
    assert podman_ingress.load_ports(deploy_env.target.base, "ing") == {}
    assert [p for ps in _host_ports(deploy_env).values() for p in ps] == []
