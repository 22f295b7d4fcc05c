"""One object in the canonical form the comparison uses. Pure.

``canonical`` returns a new object (the input is not changed) in which forms
the API server treats as equal are equal:

- server-owned fields are gone: ``status``, ``managedFields``,
  ``resourceVersion``, ``uid``, ``generation``, ``creationTimestamp`` (also
  ``creationTimestamp: null`` in a pod template), ``ownerReferences``, the
  last-applied annotation;
- a null, empty list, empty map or empty string field is absent, as the API
  server drops it (inside free-form maps such as ``labels`` or ``data`` an
  empty string value is kept: it is a value there);
- resource quantities are in one canonical form (``0.2`` = ``200m``,
  ``1`` = ``"1"``, ``1Gi`` = ``1024Mi``): see ``quantity``;
- a Secret's ``stringData`` is folded into ``data`` (base64), as the API
  server stores it;
- ``metadata.namespace`` is dropped from a cluster-scoped object;
- lists with a merge key are ``keys.Keyed`` maps (see ``keys``).
"""

from __future__ import annotations

import base64
import re
from fractions import Fraction
from typing import Any

from shipway.deploy.diff import keys

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SERVER_META = frozenset(
    {
        "managedFields",
        "resourceVersion",
        "uid",
        "generation",
        "creationTimestamp",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
    }
)
_FREEFORM = frozenset(
    {"labels", "annotations", "data", "binaryData", "matchLabels", "nodeSelector", "selector"}
)
_QUANTITY_MAPS = frozenset({"requests", "limits", "hard", "capacity", "allocatable", "overhead"})
_LIMIT_RANGE_MAPS = frozenset({"max", "min", "default", "defaultRequest", "maxLimitRequestRatio"})
_QUANTITY_SCALARS = frozenset({"sizeLimit"})

_QTY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}


def parse_quantity(value: Any) -> Fraction | None:
    """A Kubernetes quantity (``"200m"``, ``1.5``, ``"1Gi"``, ``"1e3"``) as a number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    m = _QTY.match(str(value).strip())
    if not m:
        return None
    n = Fraction(m[1])
    if m[2]:
        n *= Fraction(10) ** int(m[2][1:])
    elif m[3]:
        n *= _BINARY.get(m[3]) or _DECIMAL[m[3]]
    return n


def quantity(value: Any) -> Any:
    """The canonical text of a quantity (``value`` itself when it is not one).

    Whole numbers take the largest binary suffix that divides them (``1Gi``),
    else the largest decimal one (``2k``); fractions are milli, micro or nano
    units rounded up to a nano, as the API server rounds.
    """
    n = parse_quantity(value)
    if n is None:
        return value
    if n == 0:
        return "0"
    sign, n = ("-" if n < 0 else ""), abs(n)
    if n.denominator == 1:
        whole = n.numerator
        for suffix, mult in reversed(_BINARY.items()):
            if whole % mult == 0:
                return f"{sign}{whole // mult}{suffix}"
        for suffix in ("E", "P", "T", "G", "M", "k"):
            mult = int(_DECIMAL[suffix])
            if whole % mult == 0:
                return f"{sign}{whole // mult}{suffix}"
        return f"{sign}{whole}"
    for suffix, unit in (("m", 1000), ("u", 10**6)):
        scaled = n * unit
        if scaled.denominator == 1:
            return f"{sign}{scaled.numerator}{suffix}"
    nanos = -(-n.numerator * 10**9 // n.denominator)  # round up to a nano
    return f"{sign}{nanos}n"


def _quantities(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: quantity(v) for k, v in node.items() if v is not None}
    return node


def fold_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret with ``stringData`` merged into ``data`` as base64 (``stringData`` wins)."""
    string_data = obj.get("stringData")
    if not isinstance(string_data, dict):
        return obj
    out = {k: v for k, v in obj.items() if k != "stringData"}
    data = dict(out.get("data") or {})
    for k, v in string_data.items():
        data[str(k)] = base64.b64encode(str(v).encode()).decode()
    out["data"] = data
    return out


def is_secret(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def canonical(obj: dict[str, Any], *, cluster_scoped: bool = False) -> dict[str, Any]:
    """``obj`` in canonical form (a new object; see the module docstring)."""
    kind = str(obj.get("kind") or "")
    if is_secret(obj):
        obj = fold_secret(obj)
    top: dict[str, Any] = {}
    for k, v in obj.items():
        if k == "status":
            continue
        if k == "metadata" and isinstance(v, dict):
            meta = {m: mv for m, mv in v.items() if m not in SERVER_META}
            if cluster_scoped:
                meta.pop("namespace", None)
            ann = meta.get("annotations")
            if isinstance(ann, dict) and LAST_APPLIED in ann:
                meta["annotations"] = {a: av for a, av in ann.items() if a != LAST_APPLIED}
            v = meta
        c = _walk(v, k, "", kind, 1)
        if c is not _DROP:
            top[k] = c
    return top


class _Drop:
    pass


_DROP = _Drop()


def _walk(node: Any, field: str, parent: str, kind: str, depth: int) -> Any:
    if node is None:
        return _DROP
    if isinstance(node, dict):
        if field in _QUANTITY_MAPS or (kind == "LimitRange" and field in _LIMIT_RANGE_MAPS):
            node = _quantities(node)
        freeform = field in _FREEFORM
        out: dict[str, Any] = {}
        for k, v in node.items():
            if freeform and isinstance(v, str):
                out[k] = v
                continue
            if field == "metadata" and k == "creationTimestamp":
                continue
            c = _walk(v, k, field, kind, depth + 1)
            if c is not _DROP:
                out[k] = c
        return out or _DROP
    if isinstance(node, list):
        if not node:
            return _DROP
        items = [_walk(v, field, parent, kind, depth + 1) for v in node]
        items = [{} if v is _DROP else v for v in items]
        mk = keys.merge_key(field, parent, kind, depth)
        if mk is not None:
            as_map = keys.keyed(items, *mk)
            if as_map is not None:
                return as_map
        return items
    if node == "":
        return _DROP
    if field in _QUANTITY_SCALARS:
        return quantity(node)
    return node
