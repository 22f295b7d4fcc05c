"""Go's type names for template values, as Go's fmt and expr-lang print them. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipway.templates.gotime import GoDuration, GoTime
from shipway.templates.kinds import Scalar, scalar_kind

_SCALAR_NAMES: dict[Scalar, str] = {
    "nil": "<nil>",
    "bool": "bool",
    "int": "int",
    "float": "float64",
    "string": "string",
}


def type_name(v: Any, func: str = "func(...) interface {}") -> str:
    """The Go type of a value (``%T``, ``%!d(string=x)``); ``func`` names a callable."""
    kind = scalar_kind(v)
    if kind is not None:
        return _SCALAR_NAMES[kind]
    if isinstance(v, bytes | bytearray):
        return "[]uint8"
    if isinstance(v, Mapping):
        return "map[string]interface {}"
    if isinstance(v, list | tuple):
        return "[]interface {}"
    if isinstance(v, GoTime):
        return "time.Time"
    if isinstance(v, GoDuration):
        return "time.Duration"
    if callable(v):
        return func
    return type(v).__name__
