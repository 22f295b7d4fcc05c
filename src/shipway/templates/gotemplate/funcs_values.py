"""The values sprig's functions take: strings, string lists, emptiness, item counts. Pure.

``strval`` prints a value as Go's ``fmt.Sprint`` does (strings and bytes as
they are), ``strslice`` a list of them (nils dropped), ``empty`` is sprig's
``empty``, and ``bounded`` refuses a count over ``MAX_REPEAT`` (so a template
cannot make a billion items). Shared by ``funcs_sprig``, ``funcs_sprig_lists``
and ``funcs_sprig_more``.
"""

from __future__ import annotations

from typing import Any

from shipway.templates.gojson import to_int
from shipway.templates.gotemplate import gofmt
from shipway.templates.gotemplate.exec import FuncError

MAX_REPEAT = 1_000_000


def strval(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return gofmt.sprint_value(v)


def strslice(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list | tuple):
        return [strval(e) for e in v if e is not None]
    return [strval(v)]


def empty(v: Any) -> bool:
    return not gofmt.is_true(v)


def bounded(n: Any) -> int:
    """``n`` as a count of items to make: at least 0, at most ``MAX_REPEAT`` (else an error)."""
    k = to_int(n)
    if k > MAX_REPEAT:
        raise FuncError(f"count {k} is over the limit of {MAX_REPEAT}")
    return max(k, 0)
