"""Host ports of previews on the podman host: each published Service port gets its own.

A preview's Applications carry the annotation ``shipway.dev/preview: <name>``.
On the podman host every ``NodePort``/``LoadBalancer`` Service port of such an
application is published on a loopback port allocated from
``SHIPWAY_PREVIEW_PORTS`` (``29000-29999`` by default: below Linux's ephemeral
range, which starts at 32768, and Kubernetes' NodePort range) and recorded in the
store (``store.previews.allocate``), so previews never collide with each other
or with other applications (a port something else listens on is skipped). The
rendered ``nodePort`` is replaced by the allocated port; the preview keeps its
ports across pushes until it is torn down. On a Kubernetes cluster the rendered
``nodePort`` is dropped instead (``unpin``): the cluster allocates one per preview,
where a fixed one would make the second preview's Service fail. Touches the ``preview_ports`` table
and reads ``/proc`` (through ``podman_ports.holder``).
"""

from __future__ import annotations

import os
from typing import Any

from shipway.cluster import podman_ports
from shipway.model.errors import InputError
from shipway.store import previews as store_previews
from shipway.store.db import Store

ANNOTATION = "shipway.dev/preview"
DEFAULT_RANGE = "29000-29999"
PUBLISHED = ("NodePort", "LoadBalancer")


def port_range() -> range:
    raw = os.environ.get("SHIPWAY_PREVIEW_PORTS", "") or DEFAULT_RANGE
    try:
        low, high = (int(x) for x in raw.split("-", 1))
    except ValueError:
        raise InputError(f"SHIPWAY_PREVIEW_PORTS={raw!r} is not a range like 29000-29999",
                         subject="SHIPWAY_PREVIEW_PORTS") from None  # fmt: skip
    if not 1024 <= low <= high <= 65535:
        raise InputError(f"SHIPWAY_PREVIEW_PORTS={raw!r}: ports must be 1024-65535, low-high",
                         subject="SHIPWAY_PREVIEW_PORTS")  # fmt: skip
    return range(low, high + 1)


def preview_of(app_body: dict[str, Any]) -> str:
    """The preview an Application belongs to ('' for other applications)."""
    ann = (app_body.get("metadata") or {}).get("annotations") or {}
    return str(ann.get(ANNOTATION) or "")


def published(manifests: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Each published Service port entry with its object key, in manifest order."""
    out = []
    for obj in manifests:
        if obj.get("kind") != "Service" or (obj.get("spec") or {}).get("type") not in PUBLISHED:
            continue
        meta = obj.get("metadata") or {}
        where = f"Service/{meta.get('namespace') or 'default'}/{meta.get('name')}"
        for entry in (obj.get("spec") or {}).get("ports") or []:
            out.append((entry, f"{where}:{entry.get('port')}"))
    return out


def remap(store: Store, preview: str, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every published Service port of ``manifests`` the preview's own host port."""
    entries = published(manifests)
    if not entries:
        return manifests
    ports = store_previews.allocate(
        store, preview, [k for _, k in entries], port_range(),
        lambda p: podman_ports.holder(p) is None,
    )  # fmt: skip
    for entry, key in entries:
        entry["nodePort"] = ports[key]
    return manifests


def unpin(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the fixed ``nodePort`` of every published Service port (the cluster picks one)."""
    for entry, _key in published(manifests):
        entry.pop("nodePort", None)
    return manifests
