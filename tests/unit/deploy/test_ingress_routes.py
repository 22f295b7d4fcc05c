"""Ingress routing on the podman host: the table from manifests, and which route a request takes."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.cluster import ingress_routes as routes
from shipway.cluster import podman_ingress


def _svc(
    name: str, port: int = 80, *, port_name: str = "", kind: str = "ClusterIP"
) -> dict[str, Any]:
    entry: dict[str, Any] = {"port": port, "targetPort": 8080}
    if port_name:
        entry["name"] = port_name
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"type": kind, "selector": {"app": name}, "ports": [entry]},
    }


def _path(path: str, kind: str, svc: str, port: dict[str, Any] | None = None) -> dict[str, Any]:
    backend = {"service": {"name": svc, "port": port or {"number": 80}}}
    return {"path": path, "pathType": kind, "backend": backend}


def _ing(name: str, rules: list[dict[str, Any]], default: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ingressClassName": "any", "rules": rules}
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


PORTS = {"a": 1001, "b": 1002, "c": 1003, "d": 1004, "w": 1005}


def _table(*ingresses: dict[str, Any]) -> list[dict[str, Any]]:
    objs = [*ingresses, *(_svc(n) for n in PORTS)]
    return routes.table(objs, lambda svc, entry: PORTS[svc["metadata"]["name"]])


def _to(table: list[dict[str, Any]], host: str, path: str) -> int | None:
    r = routes.match(table, host, path)
    return None if r is None else r["port"]


def test_host_and_path_precedence() -> None:
    table = _table(
        _ing(
            "one",
            [
                {"host": "shop.test", "http": {"paths": [_path("/", "Prefix", "a"),
                                                         _path("/api", "Prefix", "b"),
                                                         _path("/api/v2", "Exact", "c")]}},
                {"host": "*.shop.test", "http": {"paths": [_path("/", "Prefix", "w")]}},
                {"http": {"paths": [_path("/", "ImplementationSpecific", "d")]}},
            ],
        )
    )  # fmt: skip
    assert _to(table, "shop.test", "/") == 1001
    assert _to(table, "SHOP.test", "/api") == 1002  # hosts are case-insensitive
    assert _to(table, "shop.test", "/api/") == 1002
    assert _to(table, "shop.test", "/api/users") == 1002  # longest prefix wins
    assert _to(table, "shop.test", "/apis") == 1001  # /api does not match /apis
    assert _to(table, "shop.test", "/api/v2") == 1003  # Exact
    assert _to(table, "shop.test", "/api/v2/x") == 1002  # Exact does not match below it
    assert _to(table, "eu.shop.test", "/x") == 1005  # the wildcard matches one label
    assert _to(table, "a.eu.shop.test", "/x") == 1004  # not two: falls to the any-host rule
    assert _to(table, "other.test", "/anything") == 1004


def test_exact_beats_prefix_of_the_same_path_and_default_backend_answers_the_rest() -> None:
    table = _table(
        _ing("one", [{"host": "h", "http": {"paths": [_path("/p", "Prefix", "a"),
                                                     _path("/p", "Exact", "b")]}}], default="c"),
    )  # fmt: skip
    assert _to(table, "h", "/p") == 1002
    assert _to(table, "h", "/p/q") == 1001
    assert _to(table, "elsewhere", "/") == 1003
    assert routes.match(_table(_ing("x", [{"host": "h", "http": {"paths": []}}])), "z", "/") is None


def test_backends_by_port_name_and_missing_service() -> None:
    objs = [
        _ing("one", [{"host": "h", "http": {"paths": [
            _path("/", "Prefix", "named", {"name": "http"}),
            _path("/gone", "Prefix", "gone"),
        ]}}]),
        _svc("named", 8000, port_name="http"),
    ]  # fmt: skip
    [(svc, entry)] = routes.backends(objs)
    assert svc["metadata"]["name"] == "named" and entry["port"] == 8000
    table = routes.table(objs, lambda s, e: 4242)
    assert [(r["path"], r["port"], r["backend"]) for r in table] == [
        ("/", 4242, "Service/shop/named port http"),
        ("/gone", None, "Service/shop/gone port 80"),
    ]


@pytest.mark.parametrize(
    ("ing", "needle"),
    [
        (_ing("x", []), "neither rules nor a defaultBackend"),
        (_ing("x", [{"http": {"paths": [_path("/", "Regex", "a")]}}]),
         "rules[0].http.paths[0].pathType 'Regex' is not one of"),
        (_ing("x", [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                                          "backend": {"resource": {"kind": "Bucket"}}}]}}]),
         "rules[0].http.paths[0].backend needs service.name and port.number or port.name"),
    ],
)  # fmt: skip
def test_malformed_ingresses_are_named(ing: dict[str, Any], needle: str) -> None:
    assert any(needle in p for p in routes.problems(ing))


def test_published_services_publish_the_allocated_ports_and_nodeports_need_none(tmp_path) -> None:
    objs = [
        _ing("one", [{"host": "h", "http": {"paths": [_path("/", "Prefix", "a"),
                                                     _path("/n", "Prefix", "n")]}}]),
        _svc("a"),
        _svc("n", kind="NodePort"),
    ]  # fmt: skip
    ports, moved = podman_ingress.allocate(tmp_path, "app", objs)
    assert list(ports) == ["shop/a/80"] and moved == {"shop/a"}
    again, moved_again = podman_ingress.allocate(tmp_path, "app", objs)
    assert again == ports and moved_again == set()  # kept, not reallocated
    [doc] = podman_ingress.published(objs, ports)
    assert doc["metadata"]["name"] == "a" and doc["spec"]["type"] == "NodePort"
    assert doc["spec"]["ports"] == [
        {"port": 80, "targetPort": 8080, "nodePort": ports["shop/a/80"]}
    ]
    released, moved = podman_ingress.allocate(tmp_path, "app", objs[1:])
    assert released == {} and moved == {"shop/a"}
