"""The Kubernetes objects Tekton's files carry beside their runs: ConfigMaps, Secrets, claims.

Pure. Tekton's examples put a ``ConfigMap``, ``Secret``, ``PersistentVolumeClaim``,
``ServiceAccount`` or RBAC object in the same file as the runs that use them
(``kubectl apply -f`` creates them all). ``read`` takes one such document and returns a
``Companion`` (its data as bytes by key: a ConfigMap's ``data``/``binaryData``, a
Secret's ``data`` decoded from base64 and ``stringData``) and its problems, or None when
the document is none of these kinds. ``Store`` answers what a run binds (a
``configMap``/``secret``/``projected`` workspace: its files; ``valueFrom``/``envFrom``:
env values), raising ``ValueError`` naming what is missing. ServiceAccounts and RBAC
objects are read and not used (no RBAC here).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

KINDS = {
    "v1": ("ConfigMap", "Secret", "PersistentVolumeClaim", "ServiceAccount"),
    "rbac.authorization.k8s.io/v1": ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"),
}
DATA_KINDS = ("ConfigMap", "Secret")
UNUSED = ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")


@dataclass
class Companion:
    kind: str
    name: str
    data: dict[str, bytes] = field(default_factory=dict)


def is_companion(api: Any, kind: Any) -> bool:
    return kind in KINDS.get(str(api), ())


def read(body: dict[str, Any]) -> tuple[Companion, list[tuple[tuple[str, ...], str]]]:
    """The object ``body`` (a companion kind) and its problems as ``(path, message)``."""
    kind = str(body.get("kind"))
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    problems: list[tuple[tuple[str, ...], str]] = []
    name = meta.get("name") or meta.get("generateName") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        problems.append((("metadata",), "missing field(s): metadata.name (or "
                         "metadata.generateName)"))  # fmt: skip
        name = ""
    out = Companion(kind, name)
    if kind not in DATA_KINDS:
        return out, problems
    keys = ("data", "binaryData") if kind == "ConfigMap" else ("data", "stringData")
    for key in keys:
        items = body.get(key)
        if items is None:
            continue
        if not isinstance(items, dict):
            problems.append(((key,), f"{key} must be a mapping of strings"))
            continue
        for k, v in items.items():
            if not isinstance(v, str):
                problems.append(((key, str(k)), f"{key}.{k} must be a string"))
            elif (kind, key) in (("Secret", "data"), ("ConfigMap", "binaryData")):
                try:
                    out.data[str(k)] = base64.b64decode(v, validate=True)
                except (binascii.Error, ValueError):
                    problems.append(((key, str(k)), f"{key}.{k}: illegal base64 data"))
            else:
                out.data[str(k)] = v.encode()
    return out, problems


class Store:
    """The ConfigMaps and Secrets of a run's files, by kind and name."""

    def __init__(self, items: list[Companion]) -> None:
        self.items = {(c.kind, c.name): c for c in items if c.kind in DATA_KINDS}

    def data(self, kind: str, name: str, optional: bool = False) -> dict[str, bytes]:
        found = self.items.get((kind, name))
        if found is None:
            if optional:
                return {}
            raise ValueError(f"{kind} {name!r} is not in the files given (put it in a file "
                             "given with -f)")  # fmt: skip
        return found.data

    def files(self, kind: str, name: str, items: Any, optional: bool) -> Iterator[
            tuple[str, bytes]]:  # fmt: skip
        """A ``configMap``/``secret`` volume's files: every key, or ``items`` (key, path)."""
        data = self.data(kind, name, optional)
        if not items:
            yield from sorted(data.items())
            return
        for item in items:
            key = str(item.get("key"))
            if key not in data:
                if optional:
                    continue
                raise ValueError(f"{kind} {name!r} has no key {key!r}")
            yield str(item.get("path") or key), data[key]

    def env_value(self, source: dict[str, Any]) -> str | None:
        """A ``valueFrom`` (``configMapKeyRef``, ``secretKeyRef``); None when optional and
        missing."""
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = source.get(key)
            if isinstance(ref, dict):
                optional = bool(ref.get("optional"))
                data = self.data(kind, str(ref.get("name")), optional)
                if str(ref.get("key")) not in data:
                    if optional:
                        return None
                    raise ValueError(f"{kind} {ref.get('name')!r} has no key {ref.get('key')!r}")
                return data[str(ref.get("key"))].decode("utf-8", errors="replace")
        raise ValueError(f"valueFrom {sorted(source)} is not served here (use "
                         "configMapKeyRef or secretKeyRef)")  # fmt: skip

    def env_from(self, sources: Any) -> dict[str, str]:
        """``envFrom``: every key of each ``configMapRef``/``secretRef``, with ``prefix``."""
        out: dict[str, str] = {}
        for src in sources or []:
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = src.get(key) if isinstance(src, dict) else None
                if isinstance(ref, dict):
                    data = self.data(kind, str(ref.get("name")), bool(ref.get("optional")))
                    prefix = str(src.get("prefix") or "")
                    out.update({prefix + k: v.decode("utf-8", errors="replace")
                                for k, v in data.items()})  # fmt: skip
        return out
