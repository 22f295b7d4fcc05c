"""List entries matched by their merge key, as Kubernetes' strategic merge patch does. Pure.

For the common core types, a list whose entries are maps with a merge key
(containers and env by ``name``, container ports by ``containerPort`` and
``protocol``, a Service's ports by ``port`` and ``protocol``, volume mounts by
``mountPath``, ...) is turned into a ``Keyed`` map from each entry's key to the
entry, so two lists compare entry by entry: an entry added or removed is one
entry, not a whole-list difference, and order does not matter. ``plain``
turns the maps back into lists for display. Lists without a merge key stay
lists (atomic, compared whole). The keys are those of the Kubernetes API
types' ``patchMergeKey``/``listMapKeys``; a field a key names that the entry
leaves out takes its API default (``protocol: TCP``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_CONTAINERS = frozenset({"containers", "initContainers", "ephemeralContainers"})

# field name -> (key fields, defaults), wherever the field appears
_ANYWHERE: dict[str, tuple[tuple[str, ...], Mapping[str, Any]]] = {
    "containers": (("name",), {}),
    "initContainers": (("name",), {}),
    "ephemeralContainers": (("name",), {}),
    "volumes": (("name",), {}),
    "imagePullSecrets": (("name",), {}),
    "hostAliases": (("ip",), {}),
    "readinessGates": (("conditionType",), {}),
    "schedulingGates": (("name",), {}),
    "resourceClaims": (("name",), {}),
    "topologySpreadConstraints": (("topologyKey", "whenUnsatisfiable"), {}),
    "ownerReferences": (("uid",), {}),
}
# field name -> key, inside a container entry
_IN_CONTAINER: dict[str, tuple[tuple[str, ...], Mapping[str, Any]]] = {
    "env": (("name",), {}),
    "ports": (("containerPort", "protocol"), {"protocol": "TCP"}),
    "volumeMounts": (("mountPath",), {}),
    "volumeDevices": (("devicePath",), {}),
    "resizePolicy": (("resourceName",), {}),
}
_SERVICE_PORTS = (("port", "protocol"), {"protocol": "TCP"})


class Keyed(dict[Any, Any]):
    """A list with a merge key, as ``{key: entry}`` (insertion order is the list's).

    ``fields`` names the entries' key fields.
    """

    fields: tuple[str, ...] = ()

    def like(self, items: Any = ()) -> Keyed:
        """A ``Keyed`` with the same key fields holding ``items``."""
        out = Keyed(items)
        out.fields = self.fields
        return out


def merge_key(
    field: str, parent: str, kind: str, depth: int
) -> tuple[tuple[str, ...], Mapping[str, Any]] | None:
    """The merge key of list ``field`` inside ``parent`` (the enclosing field), if any.

    ``depth`` is how deep the list is in the object (1 for ``spec.x``).
    """
    if parent in _CONTAINERS and field in _IN_CONTAINER:
        return _IN_CONTAINER[field]
    if field == "ports" and kind == "Service" and parent == "spec" and depth == 2:
        return _SERVICE_PORTS
    return _ANYWHERE.get(field)


def entry_key(
    entry: Any, fields: tuple[str, ...], defaults: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The entry's key (None when the entry is not a map holding its first key field)."""
    if not isinstance(entry, dict) or entry.get(fields[0]) is None:
        return None
    out = []
    for f in fields:
        v = entry.get(f, defaults.get(f))
        out.append(str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
    return tuple(out)


def keyed(items: list[Any], fields: tuple[str, ...], defaults: Mapping[str, Any]) -> Keyed | None:
    """``items`` as a ``Keyed`` map, or None when an entry has no key or a key repeats."""
    out = Keyed()
    out.fields = fields
    for item in items:
        k = entry_key(item, fields, defaults)
        if k is None or k in out:
            return None
        out[k] = item
    return out


def plain(node: Any) -> Any:
    """``node`` with every ``Keyed`` map turned back into its list of entries."""
    if isinstance(node, Keyed):
        return [plain(v) for v in node.values()]
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
