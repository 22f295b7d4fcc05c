"""A preview's URL on Kubernetes, from its Application's live objects. Pure: no I/O.

The URL is the first published Service port, as the podman host's previews have
theirs: Services are taken in (namespace, name) order, their ports in spec order.

- ``LoadBalancer`` with an address in ``status.loadBalancer.ingress`` (its
  ``hostname``, else its ``ip``): ``http://<address>:<port>/`` — what Argo CD
  shows among the Application's summary ``externalURLs``;
- ``NodePort`` (or a ``LoadBalancer`` still waiting for its address) with the
  ``nodePort`` the cluster allocated: ``http://<node>:<nodePort>/``, where
  ``node`` is the host of the cluster's API server (a single-node cluster's, as
  kind, k3s and minikube give);
- with no published Service, the first ``Ingress`` rule's host (``https`` when a
  ``tls`` entry names it) and its first path, as Argo CD's ``externalURLs``.

No published port and no Ingress host: ``''`` (the preview is up without a URL).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

PUBLISHED = ("NodePort", "LoadBalancer")


def node_host(server: str) -> str:
    """The host of an API server URL (``https://10.0.0.5:6443`` → ``10.0.0.5``)."""
    host = urlsplit(server if "//" in server else f"//{server}").hostname or ""
    return f"[{host}]" if ":" in host else host


def _order(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _service_url(svc: dict[str, Any], node: str) -> str:
    spec = svc.get("spec") or {}
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    if spec.get("type") not in PUBLISHED or not ports:
        return ""
    if spec.get("type") == "LoadBalancer":
        lbs = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        found = [str(i.get("hostname") or i.get("ip") or "") for i in lbs if isinstance(i, dict)]
        address = next((a for a in found if a), "")
        if address:
            return f"http://{address}:{ports[0].get('port')}/"
    node_port = next((p.get("nodePort") for p in ports if p.get("nodePort")), None)
    if node_port and node:
        return f"http://{node}:{node_port}/"
    return ""


def _ingress_url(ing: dict[str, Any]) -> str:
    spec = ing.get("spec") or {}
    tls = {str(h) for t in spec.get("tls") or [] for h in (t or {}).get("hosts") or []}
    for rule in spec.get("rules") or []:
        host = str((rule or {}).get("host") or "")
        if not host:
            continue
        paths = ((rule.get("http") or {}).get("paths")) or [{}]
        path = str((paths[0] or {}).get("path") or "/")
        return f"{'https' if host in tls else 'http'}://{host}{path}"
    return ""


def preview_url(objects: Iterable[dict[str, Any]], node: str) -> str:
    """The URL of the first published Service port of ``objects``, else an Ingress host."""
    objs = sorted((o for o in objects if isinstance(o, dict)), key=_order)
    for svc in (o for o in objs if o.get("kind") == "Service"):
        url = _service_url(svc, node)
        if url:
            return url
    for ing in (o for o in objs if o.get("kind") == "Ingress"):
        url = _ingress_url(ing)
        if url:
            return url
    return ""
