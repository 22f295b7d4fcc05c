"""What evaluating Tekton Triggers needs from outside: the store, Secrets and HTTP.

``store_ports(store)`` is the ``ci.tekton.trigger_eval.Ports`` of the
controller: stored objects by kind (ClusterTriggerBinding and
ClusterInterceptor are cluster-wide), the Trigger objects of a namespace
with their labels, Secret keys by the caller's reader (the controller's reads
them as Flux Receivers' are), and HTTP POSTs to webhook interceptors
and ClusterInterceptors and GETs to GitHub's API (``addChangedFiles``;
``SHIPWAY_GITHUB_API_URL``, default ``https://api.github.com``) with Tekton's
5-second timeout. Touches the store,
Secret files and the network.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import replace
from typing import Any

from shipway.ci.tekton.interceptors import Headers, Reply, Secret
from shipway.ci.tekton.trigger_eval import Ports, StoredTrigger
from shipway.store import resources as stored
from shipway.store.db import Store

TIMEOUT = 5.0
_CLUSTER = ("ClusterTriggerBinding", "ClusterInterceptor")


def post(url: str, body: bytes, headers: Headers) -> Reply:
    """POST ``body``; the reply whatever its status; ``OSError`` when there is none."""
    return _call(urllib.request.Request(url, data=body, method="POST"), headers)


def _call(req: urllib.request.Request, headers: Headers) -> Reply:
    for name, values in headers.items():
        if name.lower() not in ("content-length", "host", "connection", "transfer-encoding"):
            req.add_header(name, ", ".join(values))
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
            status, got, data = res.status, res.headers, res.read()
    except urllib.error.HTTPError as exc:
        status, got, data = exc.code, exc.headers, exc.read()
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise OSError(str(getattr(exc, "reason", exc))) from None
    out: Headers = {}
    for name, value in got.items():
        out.setdefault(name, []).append(value)
    return Reply(status, out, data)


def get(url: str, headers: Headers) -> Reply:
    """GET ``url``; the reply whatever its status; ``OSError`` when there is none."""
    return _call(urllib.request.Request(url, method="GET"), headers)


def store_ports(store: Store, secret: Secret | None = None) -> Ports:
    """The ports on ``store``; ``secret`` reads Secret keys (none: every key is missing)."""

    def find(kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        found = stored.find(store, kind, name, None if kind in _CLUSTER else namespace)
        return found.spec if found is not None else None

    def triggers(namespace: str | None) -> list[StoredTrigger]:
        return [StoredTrigger(r.namespace, r.name, r.labels, r.spec)
                for r in stored.list_kind(store, "Trigger", namespace)]  # fmt: skip

    api = os.environ.get("SHIPWAY_GITHUB_API_URL") or "https://api.github.com"
    ports = Ports(find=find, post=post, get=get, github_api=api, triggers=triggers)
    return replace(ports, secret=secret) if secret is not None else ports
