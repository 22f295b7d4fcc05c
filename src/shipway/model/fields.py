"""A strict field walker for Kubernetes-style objects (Tekton's and Tekton Triggers' kinds).

Pure data and one walker: ``check(value, TYPE, path)`` yields ``(path,
message)`` for every unknown field, wrong type, missing required field and bad
enum value, all at once, worded as Tekton's API server words them. A struct is
a mapping of field name to type; a name ending in ``!`` is required; ``ANY`` is
not looked into. The field tables are the callers' (``ci.tekton.schema``,
``model.tekton_triggers``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PathKey = str | int
Path = tuple[PathKey, ...]

STR, INT, BOOL, ANY, STRMAP, DURATION = "str", "int", "bool", "any", "strmap", "duration"


class Enum:
    """One of ``values``; with ``params``, also one ``$(params.x)`` reference (Tekton's
    ``onError``, filled in when the run's params are known)."""

    def __init__(self, *values: str, params: bool = False) -> None:
        self.values = values
        self.params = params


_PARAM_REF = re.compile(r"^\$\(params(\.[^()]+|\[[^()]+\])\)$")


class ListOf:
    def __init__(self, item: Any) -> None:
        self.item = item


class MapOf:
    def __init__(self, item: Any) -> None:
        self.item = item


_DURATION = re.compile(r"^(?:0|(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` for non-negative values, in seconds; ValueError if bad."""
    if not _DURATION.match(text):
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)",
                                                              text))  # fmt: skip


def format_duration(seconds: float) -> str:
    """Go's ``Duration.String`` for whole seconds: ``1h0m0s``, ``5m0s``, ``30s``."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    return f"{m}m{s}s" if m else f"{s}s"


def dotted(path: Path) -> str:
    """``spec.tasks[0].name``, as Tekton names a field in its errors."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _type_name(v: Any) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, bool):
        return "a boolean"
    return "null" if v is None else type(v).__name__


def check(value: Any, kind: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every problem of ``value`` against ``kind``, as ``(path, message)``."""
    if kind == ANY:
        return
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            yield path, f"{dotted(path)} must be a mapping, got {_type_name(value)}"
            return
        fields = {k.rstrip("!"): v for k, v in kind.items()}
        for key in (k[:-1] for k in kind if k.endswith("!")):
            if key not in value:
                yield path, f"missing field(s): {dotted((*path, key))}"
        for key, v in value.items():
            if key not in fields:
                yield (*path, key), f'unknown field "{dotted((*path, key))}"'
            else:
                yield from check(v, fields[key], (*path, key))
    elif isinstance(kind, ListOf):
        if not isinstance(value, list):
            yield path, f"{dotted(path)} must be a list, got {_type_name(value)}"
            return
        for i, item in enumerate(value):
            yield from check(item, kind.item, (*path, i))
    elif isinstance(kind, MapOf):
        if not isinstance(value, dict):
            yield path, f"{dotted(path)} must be a mapping, got {_type_name(value)}"
            return
        for k, item in value.items():
            yield from check(item, kind.item, (*path, k))
    else:
        yield from _scalar(value, kind, path)


def _scalar(value: Any, kind: Any, path: Path) -> Iterator[tuple[Path, str]]:
    where = dotted(path)
    if isinstance(kind, Enum):
        if kind.params and isinstance(value, str) and _PARAM_REF.match(value):
            return
        if value not in kind.values:
            yield path, (f"invalid value: {value!r}: {where} (expected one of: "
                         f"{', '.join(kind.values)})")  # fmt: skip
    elif kind == STRMAP:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            yield path, f"{where} must be a mapping of strings"
    elif kind == BOOL:
        if not isinstance(value, bool):
            yield path, f"{where} must be a boolean, got {_type_name(value)}"
    elif kind == INT:
        if not isinstance(value, int) or isinstance(value, bool):
            yield path, f"{where} must be an integer, got {_type_name(value)}"
        elif value < 0:
            yield path, f"invalid value: {value}: {where} (must be >= 0)"
    elif kind in (STR, DURATION):
        if not isinstance(value, str):
            yield path, f"{where} must be a string, got {_type_name(value)}"
        elif kind == DURATION:
            try:
                parse_duration(value)
            except ValueError:
                yield path, f"invalid value: {value}: {where} (a duration such as 1h30m)"
