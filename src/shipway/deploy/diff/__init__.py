"""Desired against live, per object, after normalisation. Pure.

Normalisation drops what the server owns (``status``, ``managedFields``,
``resourceVersion``, ``uid``, ``generation``, timestamps, the
last-applied annotation) and projects the live object onto the fields the
desired object sets, so server defaults (a container's
``terminationMessagePath``, a Service's ``clusterIP``) are not differences.
``ignoreDifferences`` rules (JSON pointers, jq path expressions, fields
owned by named managers; see ``ignore``) remove fields from both sides
first. The result per object is ``Synced``/``OutOfSync`` plus a unified diff
of the two as YAML, as ``kubectl diff`` shows it.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from shipway.deploy.diff import ignore
from shipway.deploy.render import key_of

SYNCED, OUT_OF_SYNC = "Synced", "OutOfSync"

_SERVER_META = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
)
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class IgnoreRule:
    """One ``ignoreDifferences`` entry (``group`` empty matches the core group)."""

    kind: str
    group: str | None = None
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    jq_paths: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        return (
            self.kind in ("*", obj.get("kind"))
            and (self.group is None or self.group in ("*", group))
            and (not self.name or self.name == meta.get("name"))
            and (not self.namespace or self.namespace == meta.get("namespace"))
        )


@dataclass
class ObjectDiff:
    """One object compared: ``live`` or ``desired`` is None when it exists on one side only."""

    key: str
    desired: dict[str, Any] | None
    live: dict[str, Any] | None
    status: str
    text: str = ""
    normalized_live: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.key.split("/")[1]


def normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without server-owned fields."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for k in _SERVER_META:
            meta.pop(k, None)
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            ann.pop(_LAST_APPLIED, None)
            if not ann:
                meta.pop("annotations")
    return out


def project(live: Any, desired: Any) -> Any:
    """``live`` restricted to the shape of ``desired`` (defaults the server adds are dropped)."""
    if isinstance(live, dict) and isinstance(desired, dict):
        return {k: project(live[k], desired[k]) for k in desired if k in live}
    if isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        return [project(lv, dv) for lv, dv in zip(live, desired, strict=True)]
    if isinstance(desired, str) and isinstance(live, int | float) and str(live) == desired:
        return desired
    return live


def remove_pointer(obj: Any, pointer: str) -> None:
    """Delete the field at an RFC 6901 JSON pointer, if it exists."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = obj
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                return
            if last:
                del node[part]
                return
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            if last:
                del node[int(part)]
                return
            node = node[int(part)]
        else:
            return


def apply_ignores(
    obj: dict[str, Any], rules: Iterable[IgnoreRule], live: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``obj`` without the fields the matching rules ignore (managers are read from ``live``)."""
    for rule in rules:
        if rule.matches(obj):
            for ptr in rule.json_pointers:
                remove_pointer(obj, ptr)
            if rule.jq_paths:
                obj = ignore.delete_jq(obj, rule.jq_paths)
            if rule.managers and live is not None:
                for _, fields in ignore.managed_paths(live, rule.managers):
                    ignore.delete_fields(obj, fields)
    return obj


def to_yaml(obj: Any) -> str:
    return str(yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False))


def compare(
    desired: dict[str, Any] | None,
    live: dict[str, Any] | None,
    rules: Sequence[IgnoreRule] = (),
) -> ObjectDiff:
    """Compare one object; ``text`` is a unified diff (live → desired) when out of sync."""
    some = desired if desired is not None else live
    assert some is not None
    key = key_of(some)
    d = apply_ignores(normalize(desired), rules, live) if desired is not None else None
    n_live = apply_ignores(normalize(live), rules, live) if live is not None else None
    if d is not None and n_live is not None:
        n_live = project(n_live, d)
    if d == n_live:
        return ObjectDiff(key, desired, live, SYNCED, "", n_live)
    a = to_yaml(n_live).splitlines(keepends=True) if n_live is not None else []
    b = to_yaml(d).splitlines(keepends=True) if d is not None else []
    text = "".join(difflib.unified_diff(a, b, f"live/{key}", f"desired/{key}"))
    return ObjectDiff(key, desired, live, OUT_OF_SYNC, text, n_live)


def compare_all(
    desired: Iterable[dict[str, Any]],
    live: Mapping[str, dict[str, Any]],
    rules: Sequence[IgnoreRule] = (),
) -> list[ObjectDiff]:
    """Pair desired objects with live ones by key; live-only objects come last (to prune)."""
    out: list[ObjectDiff] = []
    seen: set[str] = set()
    for obj in desired:
        k = key_of(obj)
        seen.add(k)
        out.append(compare(obj, live.get(k), rules))
    out += [compare(None, obj, rules) for k, obj in sorted(live.items()) if k not in seen]
    return out
