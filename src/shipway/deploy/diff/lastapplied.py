"""The last applied configuration of a live Kubernetes object. Pure.

What shipway applied last is the third side of the comparison: a field in it
that git no longer has was removed from git, so it is drift. Read from the
live object, as Argo CD and kubectl do:

- server-side apply: the fields the ``managedFields`` entry of manager
  ``shipway`` (operation ``Apply``) owns, with their live values (``owned``
  reads a ``fieldsV1`` tree: ``f:`` fields, ``k:`` list items by key,
  ``v:`` set values, ``i:`` indexes; ``.`` marks the node itself);
- client-side apply: the JSON of the ``kubectl.kubernetes.io/last-applied-configuration``
  annotation.

A target that records what it applied elsewhere (the podman host) passes
that record instead.
"""

from __future__ import annotations

import json
from typing import Any

from shipway.deploy.diff.normalize import LAST_APPLIED

MANAGER = "shipway"


def owned(node: Any, fields: dict[str, Any]) -> Any:
    """The part of ``node`` a ``fieldsV1`` tree names (a leaf owns the whole value)."""
    children = {k: v for k, v in (fields or {}).items() if k != "."}
    if not children:
        return node
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for raw, sub in children.items():
            kind, _, ident = raw.partition(":")
            if kind == "f" and ident in node:
                out[ident] = owned(node[ident], sub)
        return out
    if isinstance(node, list):
        picked: list[tuple[int, Any]] = []
        for raw, sub in children.items():
            kind, _, ident = raw.partition(":")
            try:
                if kind == "k":
                    key = json.loads(ident)
                    for i, item in enumerate(node):
                        if isinstance(item, dict) and _has_key(item, key):
                            picked.append((i, owned(item, sub)))
                            break
                elif kind == "v":
                    value = json.loads(ident)
                    if value in node:
                        picked.append((node.index(value), value))
                elif kind == "i" and ident.isdigit() and int(ident) < len(node):
                    picked.append((int(ident), owned(node[int(ident)], sub)))
            except ValueError:
                continue
        return [v for _, v in sorted(picked, key=lambda p: p[0])]
    return node


_KEY_DEFAULTS = {"protocol": "TCP"}


def _has_key(item: dict[str, Any], key: dict[str, Any]) -> bool:
    """Whether a list entry has ``key`` (a key field left out takes its API default)."""
    return all(item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in key.items())


def from_live(live: dict[str, Any], manager: str = MANAGER) -> dict[str, Any] | None:
    """What was last applied to ``live`` (None when nothing says)."""
    meta = live.get("metadata") or {}
    for entry in meta.get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            part = owned(live, entry.get("fieldsV1") or {})
            if isinstance(part, dict):
                ident = {"name": meta.get("name"), "namespace": meta.get("namespace")}
                part_meta = dict(part.get("metadata") or {})
                part_meta.update({k: v for k, v in ident.items() if v})
                return {
                    **part,
                    "apiVersion": live.get("apiVersion"),
                    "kind": live.get("kind"),
                    "metadata": part_meta,
                }
    raw = (meta.get("annotations") or {}).get(LAST_APPLIED)
    if isinstance(raw, str) and raw:
        try:
            found = json.loads(raw)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None
    return None
