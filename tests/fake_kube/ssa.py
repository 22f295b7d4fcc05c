"""Server-side apply for the fake: field ownership per manager, conflicts, force.

Simplified from the real field manager, but with the same observable rules:
each manager owns a set of leaf fields; applying fields another manager owns
with a different value is a conflict unless ``force`` (then ownership moves);
fields a manager applied before and leaves out now are removed when nobody
else owns them. As on a real API server, lists with a merge key (containers,
env, ports, volumes, volume mounts, ...) are owned entry by entry, keyed by
their key fields (``k:{"name":"web"}``; a port's key includes its
``protocol``, ``TCP`` when left out); other lists are one leaf. ``managedFields``
entries carry ``manager``, ``operation``, ``apiVersion``, ``fieldsType:
FieldsV1`` and ``fieldsV1`` in the real nested form (``f:`` fields, ``k:``
entries each with a ``.`` member).
"""

from __future__ import annotations

import copy
import json
from typing import Any

Path = tuple[str, ...]
_IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
_SERVER = {"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"}
_CONTAINERS = {"containers", "initContainers", "ephemeralContainers"}
_BY_NAME = {"volumes", "imagePullSecrets", *_CONTAINERS}
_IN_CONTAINER = {"env": ("name",), "volumeMounts": ("mountPath",), "ports": ("containerPort",)}


class _Keyed(dict[str, Any]):
    """A list with a merge key, as ``{'k:{...}': entry}``."""


def _key_fields(field: str, parent: str, kind: str, depth: int) -> tuple[str, ...] | None:
    if parent in _CONTAINERS and field in _IN_CONTAINER:
        return _IN_CONTAINER[field]
    if field in _BY_NAME:
        return ("name",)
    if field == "ports" and kind == "Service" and depth == 2:
        return ("port",)
    return None


def _entry_key(item: Any, fields: tuple[str, ...], field: str) -> str | None:
    if not isinstance(item, dict) or any(item.get(f) is None for f in fields):
        return None
    key = {f: item[f] for f in fields}
    if field == "ports":
        key["protocol"] = item.get("protocol", "TCP")
    return "k:" + json.dumps(key, sort_keys=True, separators=(",", ":"))


def tree(obj: Any, kind: str = "", field: str = "", parent: str = "", depth: int = 0) -> Any:
    """``obj`` with keyed lists as ``_Keyed`` maps (the form ownership is computed on)."""
    if depth == 0 and isinstance(obj, dict):
        kind = str(obj.get("kind") or "")
    if isinstance(obj, dict):
        return {k: tree(v, kind, k, field, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        fields = _key_fields(field, parent, kind, depth)
        if fields is not None:
            out = _Keyed()
            for item in obj:
                k = _entry_key(item, fields, field)
                if k is None or k in out:
                    break
                out[k] = tree(item, kind, field, parent, depth + 1)
            else:
                return out
        return copy.deepcopy(obj)
    return obj


def untree(node: Any) -> Any:
    if isinstance(node, _Keyed):
        return [untree(v) for v in node.values()]
    if isinstance(node, dict):
        return {k: untree(v) for k, v in node.items()}
    return node


def leaves(obj: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Leaf paths of a ``tree`` (map keys and keyed entries; other lists and scalars are
    leaves), minus server fields and the object's identity."""
    out: dict[Path, Any] = {}
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            if prefix == () and k == "status":
                continue
            if prefix == ("metadata",) and k in _SERVER:
                continue
            out.update(leaves(v, (*prefix, str(k))))
    elif prefix:
        out[prefix] = obj
    return {p: v for p, v in out.items() if p not in _IDENTITY}


def get(obj: Any, path: Path) -> Any:
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return _MISSING
        obj = obj[p]
    return obj


def put(obj: dict[str, Any], path: Path, value: Any) -> None:
    for i, p in enumerate(path[:-1]):
        nxt = obj.get(p)
        if not isinstance(nxt, dict):
            nxt = obj[p] = _Keyed() if path[i + 1].startswith("k:") else {}
        obj = nxt
    obj[path[-1]] = copy.deepcopy(value)


def remove(obj: dict[str, Any], path: Path) -> None:
    parents = [obj]
    for p in path[:-1]:
        nxt = parents[-1].get(p)
        if not isinstance(nxt, dict):
            return
        parents.append(nxt)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 0, -1):  # drop emptied maps and entries
        if not parents[depth]:
            parents[depth - 1].pop(path[depth - 1], None)


class _Missing:
    pass


_MISSING = _Missing()


def describe(path: Path) -> str:
    """A field path as the API server names it in a conflict (``.spec.containers[name="c"]``)."""
    out = ""
    for p in path:
        if p.startswith("k:"):
            key = json.loads(p[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]"
        else:
            out += "." + p
    return out


def fields_v1(paths: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in sorted(paths):
        node = out
        for part in p:
            if part.startswith("k:"):
                node = node.setdefault(part, {})
                node.setdefault(".", {})
            else:
                node = node.setdefault(f"f:{part}", {})
    return out


def owners(obj: dict[str, Any]) -> dict[tuple[str, str], set[Path]]:
    """``(manager, operation)`` → owned leaf paths, read back from ``managedFields``."""
    out: dict[tuple[str, str], set[Path]] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        paths: set[Path] = set()
        _walk(entry.get("fieldsV1") or {}, (), paths)
        out[(entry["manager"], entry.get("operation", "Update"))] = paths
    return out


def _walk(node: dict[str, Any], prefix: Path, out: set[Path]) -> None:
    children = {k: v for k, v in node.items() if k != "."}
    if not children:
        out.add(prefix)
        return
    for k, v in children.items():
        _walk(v, (*prefix, k if k.startswith("k:") else k[2:]), out)


def set_owners(obj: dict[str, Any], table: dict[tuple[str, str], set[Path]], api: str) -> None:
    obj.setdefault("metadata", {})["managedFields"] = [
        {
            "manager": m,
            "operation": op,
            "apiVersion": api,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(paths),
        }
        for (m, op), paths in sorted(table.items())
        if paths
    ]


class ApplyConflict(Exception):
    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__("conflicts")
        self.conflicts = conflicts


def apply(
    current: dict[str, Any] | None, body: dict[str, Any], manager: str, force: bool
) -> dict[str, Any]:
    """The object after ``manager`` applies ``body`` (raises ``ApplyConflict``)."""
    base = tree(copy.deepcopy(current)) if current else {}
    table = owners(current) if current else {}
    wanted = leaves(tree(body))
    conflicts = []
    for (m, op), paths in table.items():
        if m == manager and op == "Apply":
            continue
        for p in paths & set(wanted):
            if get(base, p) != wanted[p]:
                conflicts.append((m, p))
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    mine = table.get((manager, "Apply"), set())
    others = set().union(*[ps for k, ps in table.items() if k != (manager, "Apply")] or [set()])
    for p in mine - set(wanted) - others:
        remove(base, p)
    for key in ("apiVersion", "kind"):
        base[key] = body[key]
    meta = base.setdefault("metadata", {})
    for key in ("name", "namespace"):
        if key in (body.get("metadata") or {}):
            meta[key] = body["metadata"][key]
    for p, v in wanted.items():
        put(base, p, v)
    for k in list(table):
        if k != (manager, "Apply"):
            table[k] -= set(wanted)
    table[(manager, "Apply")] = set(wanted)
    out = untree(base)
    set_owners(out, table, body["apiVersion"])
    return dict(out)


def record_update(
    before: dict[str, Any] | None, after: dict[str, Any], manager: str
) -> dict[str, Any]:
    """Ownership after a non-apply write: changed leaves move to ``manager`` (Update)."""
    table = owners(before) if before else {}
    old = leaves(tree(before)) if before else {}
    new = leaves(tree(after))
    changed = {p for p, v in new.items() if old.get(p, _MISSING) != v}
    for k in list(table):
        table[k] = {p for p in table[k] if p in new} - changed
    table[(manager, "Update")] = table.get((manager, "Update"), set()) | changed
    set_owners(after, table, after["apiVersion"])
    return after
