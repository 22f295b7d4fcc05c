"""A preview's URL on a cluster from its live objects (``promote.previews.urls``)."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.promote.previews.urls import node_host, preview_url


def _svc(name: str, kind: str, ports: list[dict[str, Any]], status: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "Service", "metadata": {"name": name, "namespace": "p"},
                           "spec": {"type": kind, "ports": ports}}  # fmt: skip
    if status is not None:
        out["status"] = status
    return out


def _ing(host: str, path: str = "/", tls: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{"host": host, "http": {"paths": [{"path": path}]}}]}
    if tls:
        spec["tls"] = [{"hosts": [host]}]
    return {"kind": "Ingress", "metadata": {"name": "web", "namespace": "p"}, "spec": spec}


@pytest.mark.parametrize(
    ("server", "want"),
    [("https://10.0.0.5:6443", "10.0.0.5"), ("http://127.0.0.1:8001", "127.0.0.1"),
     ("https://[fd00::1]:6443", "[fd00::1]"), ("kube.example:443", "kube.example")],
)  # fmt: skip
def test_node_host(server: str, want: str) -> None:
    assert node_host(server) == want


def test_first_published_service_port_in_name_order() -> None:
    objs = [
        _svc("zeta", "NodePort", [{"port": 80, "nodePort": 30001}]),
        _svc("alpha", "ClusterIP", [{"port": 80}]),
        _svc("beta", "NodePort", [{"port": 80, "nodePort": 30002}, {"port": 90, "nodePort": 3}]),
        _ing("web.example"),
    ]
    assert preview_url(objs, "10.0.0.5") == "http://10.0.0.5:30002/"


def test_load_balancer_address_else_its_node_port() -> None:
    addresses = {"ingress": [{"hostname": "lb.example"}, {"ip": "1.2.3.4"}]}
    lb = _svc(
        "web", "LoadBalancer", [{"port": 8080, "nodePort": 31000}], {"loadBalancer": addresses}
    )
    assert preview_url([lb], "node") == "http://lb.example:8080/"
    pending = _svc("web", "LoadBalancer", [{"port": 8080, "nodePort": 31000}], {})
    assert preview_url([pending], "node") == "http://node:31000/"


def test_ingress_host_when_no_service_is_published() -> None:
    objs = [_svc("web", "ClusterIP", [{"port": 80}]), _ing("pr-7.example", "/app", tls=True)]
    assert preview_url(objs, "node") == "https://pr-7.example/app"
    assert preview_url([_ing("pr-7.example")], "") == "http://pr-7.example/"
    assert preview_url([_svc("web", "ClusterIP", [{"port": 80}])], "node") == ""
