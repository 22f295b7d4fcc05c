"""Ingress routing on the podman host: the routing table and how a request picks a backend.

Pure (no I/O). ``table(records, host_port)`` turns an application's recorded
objects into routes: one per ``rules[].http.paths[]`` entry of each
``networking.k8s.io/v1`` Ingress (``host``, ``path``, ``pathType``) plus each
Ingress's ``defaultBackend``; a backend is ``service.name`` with
``port.number`` or ``port.name``, resolved to the loopback port the target
publishes that Service port on (``host_port``), or None when no such Service
or port exists (the proxy answers 503 naming it). ``backends(records)`` lists
the Service ports Ingresses send traffic to, so the target can publish them.

``match(routes, host, path)`` chooses as the Kubernetes Ingress spec says: a
rule's host matches exactly, or ``*.example.com`` matches one label; a rule
with no host matches every host, after the rules with one; among the paths
of the matching hosts the longest matching path wins, ``Exact`` before
``Prefix`` for equal lengths. ``Prefix`` matches whole path elements
(``/foo`` matches ``/foo`` and ``/foo/bar``, not ``/foobar``);
``ImplementationSpecific`` is treated as ``Prefix``. With no match, a
``defaultBackend`` answers (the first Ingress's by namespace and name).
``ingressClassName`` is accepted; this host has one ingress controller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Obj = dict[str, Any]
Route = dict[str, Any]
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "default")


def _ingresses(records: Iterable[Obj]) -> list[Obj]:
    found = [r for r in records if r.get("kind") == "Ingress"]
    return sorted(found, key=lambda r: (_ns(r), str(r["metadata"]["name"])))


def _service_backends(ing: Obj) -> list[Obj]:
    spec = ing.get("spec") or {}
    out = []
    if (spec.get("defaultBackend") or {}).get("service"):
        out.append(spec["defaultBackend"]["service"])
    for rule in spec.get("rules") or []:
        for p in (rule.get("http") or {}).get("paths") or []:
            if (p.get("backend") or {}).get("service"):
                out.append(p["backend"]["service"])
    return out


def service_port(service: Obj, port: Obj) -> Obj | None:
    """The entry of ``service``'s ``spec.ports`` a backend ``port`` (number or name) names."""
    for entry in (service.get("spec") or {}).get("ports") or []:
        if "number" in port and entry.get("port") == port["number"]:
            return dict(entry)
        if "name" in port and entry.get("name") == port["name"]:
            return dict(entry)
    return None


def backends(records: Iterable[Obj]) -> list[tuple[Obj, Obj]]:
    """``(Service, its port entry)`` for every Service port some Ingress routes to."""
    items = list(records)
    services = {(_ns(s), s["metadata"]["name"]): s for s in items if s.get("kind") == "Service"}
    out: list[tuple[Obj, Obj]] = []
    for ing in _ingresses(items):
        for b in _service_backends(ing):
            svc = services.get((_ns(ing), b.get("name")))
            entry = service_port(svc, b.get("port") or {}) if svc else None
            if svc is not None and entry is not None and (svc, entry) not in out:
                out.append((svc, entry))
    return out


def problems(ing: Obj) -> list[str]:
    """What is wrong with an Ingress's shape (``check`` refuses it, naming these)."""
    spec = ing.get("spec") or {}
    out: list[str] = []
    if not spec.get("rules") and not spec.get("defaultBackend"):
        out.append("it has neither rules nor a defaultBackend")
    for b in [spec.get("defaultBackend") or {}] if spec.get("defaultBackend") else []:
        if not (b.get("service") or {}).get("name"):
            out.append("defaultBackend has no service.name (resource backends are not served)")
    for i, rule in enumerate(spec.get("rules") or []):
        for j, p in enumerate((rule.get("http") or {}).get("paths") or []):
            where = f"rules[{i}].http.paths[{j}]"
            if p.get("pathType") not in PATH_TYPES:
                out.append(f"{where}.pathType {p.get('pathType')!r} is not one of {PATH_TYPES}")
            svc = (p.get("backend") or {}).get("service") or {}
            port = svc.get("port") or {}
            if not svc.get("name") or not ("number" in port or "name" in port):
                out.append(f"{where}.backend needs service.name and port.number or port.name")
    return out


def table(records: Iterable[Obj], host_port: Callable[[Obj, Obj], int | None]) -> list[Route]:
    """The routes of an application's Ingresses (``host_port(service, port_entry)``)."""
    items = list(records)
    services = {(_ns(s), s["metadata"]["name"]): s for s in items if s.get("kind") == "Service"}

    def resolve(ing: Obj, backend: Obj) -> dict[str, Any]:
        b = backend.get("service") or {}
        port = b.get("port") or {}
        shown = f"Service/{_ns(ing)}/{b.get('name')} port {port.get('number', port.get('name'))}"
        svc = services.get((_ns(ing), b.get("name")))
        entry = service_port(svc, port) if svc else None
        target = host_port(svc, entry) if svc and entry else None
        return {"backend": shown, "port": target}

    routes: list[Route] = []
    for ing in _ingresses(items):
        name = f"{_ns(ing)}/{ing['metadata']['name']}"
        spec = ing.get("spec") or {}
        for rule in spec.get("rules") or []:
            for p in (rule.get("http") or {}).get("paths") or []:
                routes.append(
                    {
                        "ingress": name,
                        "host": str(rule.get("host") or ""),
                        "path": str(p.get("path") or "/"),
                        "pathType": str(p.get("pathType") or "Prefix"),
                        **resolve(ing, p.get("backend") or {}),
                    }
                )
        if spec.get("defaultBackend"):
            routes.append(
                {"ingress": name, "default": True, **resolve(ing, spec["defaultBackend"])}
            )
    return routes


def _host_rank(rule_host: str, host: str) -> int | None:
    """0: exact, 1: wildcard, 2: any host; None: no match."""
    if not rule_host:
        return 2
    if rule_host == host:
        return 0
    if rule_host.startswith("*."):
        head, _, rest = host.partition(".")
        return 1 if head and rest == rule_host[2:] else None
    return None


def _path_matches(route: Route, path: str) -> bool:
    want = str(route["path"])
    if route["pathType"] == "Exact":
        return path == want
    prefix = [p for p in want.split("/") if p]
    have = [p for p in path.split("/") if p]
    return have[: len(prefix)] == prefix


def match(routes: Iterable[Route], host: str, path: str) -> Route | None:
    """The route a request for ``host`` (no port) and ``path`` (no query) takes, or None."""
    host = host.lower().rstrip(".")
    best: tuple[int, int, int] | None = None
    chosen: Route | None = None
    default: Route | None = None
    for r in routes:
        if r.get("default"):
            default = default or r
            continue
        rank = _host_rank(str(r["host"]).lower(), host)
        if rank is None or not _path_matches(r, path):
            continue
        key = (rank, -len(str(r["path"]).rstrip("/")), 0 if r["pathType"] == "Exact" else 1)
        if best is None or key < best:
            best, chosen = key, r
    return chosen or default
