"""Argo CD's health customizations from an ``argocd-cm`` ConfigMap's ``data``. Pure.

Two forms, merged as Argo CD merges them (the split keys win):

- ``resource.customizations``: YAML mapping ``<group>/<kind>`` (``<kind>`` for
  the core group) to ``{health.lua: SCRIPT, health.lua.useOpenLibs: BOOL}``;
- ``resource.customizations.health.<group>_<kind>`` (or ``.<kind>``) holding
  the script, with ``resource.customizations.useOpenLibs.<group>_<kind>``;
  ``all`` stands for ``*/*``.

Keys may be globs (``*.crossplane.io/*``): an exact key wins, then the first
matching glob (in the ConfigMap's key order). A core-group object's key is
its bare kind, so ``*/*`` does not match core kinds, as in Argo CD. The other
customization types (actions, ignoreDifferences, ...) are accepted and left
to their own readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipway.deploy.health import lua
from shipway.deploy.health.registry import matches
from shipway.deploy.health.util import UNKNOWN, Obj, Result
from shipway.model import yamlsrc
from shipway.model.errors import InputError

PREFIX = "resource.customizations"
_TYPES = {
    "health",
    "useOpenLibs",
    "actions",
    "ignoreDifferences",
    "ignoreResourceUpdates",
    "knownTypeFields",
}


@dataclass(frozen=True)
class Override:
    """One health script: its override key, where it came from, and ``useOpenLibs``."""

    key: str
    script: str
    open_libs: bool
    source: str  # the ConfigMap key (and entry) it was read from: the chunk name in errors


@dataclass(frozen=True)
class Customizations:
    overrides: tuple[Override, ...] = ()
    limits: lua.Limits = field(default=lua.LIMITS)
    error: str = ""  # the ConfigMap could not be read: every object gets Unknown with this

    def find(self, group: str, kind: str) -> Override | None:
        if self.error:
            return Override("*", "", False, "argocd-cm")
        key = f"{group}/{kind}" if group else kind
        for o in self.overrides:
            if o.key == key:
                return o
        return next((o for o in self.overrides if matches(o.key, key)), None)

    def health(self, obj: Obj, group: str, kind: str) -> tuple[bool, Result]:
        """``(True, result)`` when a script applies to ``obj``, else ``(False, None)``."""
        if self.error:
            return True, (UNKNOWN, self.error)
        found = self.find(group, kind)
        if found is None:
            return False, None
        result = lua.evaluate(
            found.script, obj, name=found.source, open_libs=found.open_libs, limits=self.limits
        )
        return True, result


NONE = Customizations()


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "t", "true"):
        return True
    if text in ("0", "f", "false"):
        return False
    raise InputError(f"{value!r} is not a boolean", subject=where)


def _override_key(group_kind: str, where: str) -> str:
    parts = group_kind.split("_")
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 1 and group_kind:
        return "*/*" if group_kind == "all" else group_kind
    raise InputError(
        f"expected resource.customizations.<type>.<group>_<kind> or .<kind>, got {group_kind!r}",
        subject=where,
    )


def _combined(text: str, cm: str) -> dict[str, dict[str, Any]]:
    where = f"{cm} data.{PREFIX}"
    doc = yamlsrc.load_one(text, where)
    if not isinstance(doc.data, dict):
        raise InputError("expected a mapping of <group>/<kind> to customizations", subject=where)
    out: dict[str, dict[str, Any]] = {}
    for key, value in doc.data.items():
        if not isinstance(value, dict):
            raise InputError(f"{key}: expected a mapping", subject=doc.where((key,)))
        script = value.get("health.lua", "")
        if not isinstance(script, str):
            raise InputError(
                f"{key}: health.lua must be a string", subject=doc.where((key, "health.lua"))
            )
        flag = value.get("health.lua.useOpenLibs", False)
        out[str(key)] = {
            "script": script,
            "open_libs": _bool(flag, doc.where((key, "health.lua.useOpenLibs"))),
            "source": f"{PREFIX}[{key}]",
        }
    return out


def from_configmap(data: dict[str, Any], cm: str = "ConfigMap/argocd-cm") -> Customizations:
    """The health customizations in ``data``; ``InputError`` naming the key when malformed."""
    merged: dict[str, dict[str, Any]] = {}
    combined = data.get(PREFIX)
    if isinstance(combined, str) and combined.strip():
        merged.update(_combined(combined, cm))
    for k in sorted(data):
        if not k.startswith(PREFIX) or k == PREFIX:
            continue
        parts = k.split(".", 3)
        if len(parts) < 4:
            continue
        where = f"{cm} data.{k}"
        ctype = parts[2]
        if ctype not in _TYPES:
            raise InputError(
                f"resource customization type {ctype!r} is not supported", subject=where
            )
        key = _override_key(parts[3], where)
        entry = merged.setdefault(key, {"script": "", "open_libs": False, "source": k})
        if ctype == "health":
            entry.update(script=str(data[k]), source=k)
        elif ctype == "useOpenLibs":
            entry["open_libs"] = _bool(data[k], where)
    overrides = tuple(
        Override(key, e["script"], e["open_libs"], e["source"])
        for key, e in merged.items()
        if e["script"]
    )
    return Customizations(overrides)


def single(script: str, name: str, *, open_libs: bool = False) -> Customizations:
    """One script for every kind (``shipway app health --lua FILE``)."""
    return Customizations((Override("*", script, open_libs, name),))
