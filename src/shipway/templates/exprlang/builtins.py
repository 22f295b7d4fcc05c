"""expr-lang's builtin functions, by the names and argument orders of its docs.

Pure (``now`` reads the clock through ``GoTime.now``). Predicate builtins
(``all``, ``filter``, ``map`` ...) receive their closure as a Python function
``f(elem, index, acc)``; they are marked ``takes_closures``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import statistics
from collections.abc import Callable, Mapping
from typing import Any

from shipway.templates.exprlang.evaluate import Fail, equal, is_number, type_name
from shipway.templates.gojson import JSONError, go_json
from shipway.templates.gotemplate.gofmt import sprint_value
from shipway.templates.gotime import (
    RFC3339,
    RFC3339_NANO,
    GoDuration,
    GoTime,
    GoTimeError,
    parse_duration,
    parse_time,
)
from shipway.templates.kinds import Scalar, scalar_kind


def _arr(v: Any, fn: str) -> list[Any]:
    if isinstance(v, list | tuple):
        return list(v)
    if v is None:
        return []
    raise Fail(f"invalid argument for {fn} (type {type_name(v)})")


def _str(v: Any, fn: str) -> str:
    if not isinstance(v, str):
        raise Fail(f"invalid argument for {fn} (type {type_name(v)})")
    return v


def _pred(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.takes_closures = True  # type: ignore[attr-defined]
    return fn


def _truth(v: Any, fn: str) -> bool:
    if not isinstance(v, bool):
        raise Fail(f"predicate of {fn} must return bool, not {type_name(v)}")
    return v


@_pred
def _all(arr: Any, p: Callable[..., Any]) -> bool:
    return all(_truth(p(e, i), "all") for i, e in enumerate(_arr(arr, "all")))


@_pred
def _any(arr: Any, p: Callable[..., Any]) -> bool:
    return any(_truth(p(e, i), "any") for i, e in enumerate(_arr(arr, "any")))


@_pred
def _none(arr: Any, p: Callable[..., Any]) -> bool:
    return not any(_truth(p(e, i), "none") for i, e in enumerate(_arr(arr, "none")))


@_pred
def _one(arr: Any, p: Callable[..., Any]) -> bool:
    return sum(_truth(p(e, i), "one") for i, e in enumerate(_arr(arr, "one"))) == 1


@_pred
def _filter(arr: Any, p: Callable[..., Any]) -> list[Any]:
    return [e for i, e in enumerate(_arr(arr, "filter")) if _truth(p(e, i), "filter")]


@_pred
def _map(arr: Any, p: Callable[..., Any]) -> list[Any]:
    return [p(e, i) for i, e in enumerate(_arr(arr, "map"))]


@_pred
def _count(arr: Any, p: Callable[..., Any] | None = None) -> int:
    items = _arr(arr, "count")
    if p is None:
        return sum(1 for e in items if _truth(e, "count"))
    return sum(1 for i, e in enumerate(items) if _truth(p(e, i), "count"))


@_pred
def _sum(arr: Any, p: Callable[..., Any] | None = None) -> Any:
    items = _arr(arr, "sum")
    vals = [p(e, i) for i, e in enumerate(items)] if p is not None else items
    total: Any = 0
    for v in vals:
        if not is_number(v):
            raise Fail(f"invalid argument for sum (type {type_name(v)})")
        total += v
    return total


def _finder(name: str, last: bool, index: bool) -> Callable[..., Any]:
    @_pred
    def find(arr: Any, p: Callable[..., Any]) -> Any:
        items = list(enumerate(_arr(arr, name)))
        for i, e in reversed(items) if last else items:
            if _truth(p(e, i), name):
                return i if index else e
        return -1 if index else None

    return find


@_pred
def _group_by(arr: Any, p: Callable[..., Any]) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = {}
    for i, e in enumerate(_arr(arr, "groupBy")):
        out.setdefault(p(e, i), []).append(e)
    return out


def _sort_key(v: Any) -> Any:
    if is_number(v):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    raise Fail(f"cannot sort {type_name(v)}")


@_pred
def _sort_by(arr: Any, p: Callable[..., Any], order: str = "asc") -> list[Any]:
    items = _arr(arr, "sortBy")
    keyed = [(_sort_key(p(e, i)), e) for i, e in enumerate(items)]
    keyed.sort(key=lambda t: t[0], reverse=order == "desc")
    return [e for _, e in keyed]


_NO_INIT = object()


@_pred
def _reduce(arr: Any, p: Callable[..., Any], initial: Any = _NO_INIT) -> Any:
    items = _arr(arr, "reduce")
    if initial is _NO_INIT:
        if not items:
            raise Fail("reduce of empty array with no initial value")
        acc, start = items[0], 1
    else:
        acc, start = initial, 0
    for i in range(start, len(items)):
        acc = p(items[i], i, acc)
    return acc


def _len(v: Any) -> int:
    if isinstance(v, str | list | tuple | Mapping):
        return len(v)
    raise Fail(f"invalid argument for len (type {type_name(v)})")


def _num(v: Any, fn: str) -> int | float:
    if not is_number(v):
        raise Fail(f"invalid argument for {fn} (type {type_name(v)})")
    return v  # type: ignore[no-any-return]


def _round(v: Any) -> float:
    x = _num(v, "round")
    return float(math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1))


def _int(v: Any) -> int:
    if isinstance(v, bool) or v is None:
        raise Fail(f"invalid operation: int({type_name(v)})")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise Fail(f"invalid operation: int({v})")
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip(), 10)
        except ValueError:
            raise Fail(f'strconv.Atoi: parsing "{v}": invalid syntax') from None
    if isinstance(v, GoDuration):
        return v.ns
    raise Fail(f"invalid operation: int({type_name(v)})")


def _float(v: Any) -> float:
    if isinstance(v, bool) or v is None:
        raise Fail(f"invalid operation: float({type_name(v)})")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            raise Fail(f'strconv.ParseFloat: parsing "{v}": invalid syntax') from None
    raise Fail(f"invalid operation: float({type_name(v)})")


def _string(v: Any) -> str:
    return sprint_value(v)


def _split(s: Any, sep: Any, n: int = -1) -> list[str]:
    text, d = _str(s, "split"), _str(sep, "split")
    if d == "":
        return list(text)
    return text.split(d, n - 1) if n > 0 else ([] if n == 0 else text.split(d))


def _split_after(s: Any, sep: Any) -> list[str]:
    parts = _split(s, sep)
    return [p + sep for p in parts[:-1]] + parts[-1:]


def _join(arr: Any, sep: str = "") -> str:
    return _str(sep, "join").join(_str(e, "join") for e in _arr(arr, "join"))


def _repeat(s: Any, n: Any) -> str:
    text = _str(s, "repeat")
    if not isinstance(n, int) or n < 0:
        raise Fail("invalid argument for repeat")
    if len(text) * n > 1_000_000:
        raise Fail("repeat result over 1000000 characters")
    return text * n


def _keys(m: Any) -> list[Any]:
    if not isinstance(m, Mapping):
        raise Fail(f"cannot get keys from {type_name(m)}")
    return list(m.keys())


def _values(m: Any) -> list[Any]:
    if not isinstance(m, Mapping):
        raise Fail(f"cannot get values from {type_name(m)}")
    return list(m.values())


def _to_json(v: Any) -> str:
    try:
        return go_json(v, indent="  ")
    except JSONError as e:
        raise Fail(str(e)) from None


def _from_json(s: Any) -> Any:
    try:
        return json.loads(_str(s, "fromJSON"))
    except ValueError as e:
        raise Fail(str(e)) from None


def _from_base64(s: Any) -> str:
    try:
        return base64.b64decode(_str(s, "fromBase64"), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as e:
        raise Fail(f"illegal base64 data: {e}") from None


_DATE_LAYOUTS = (RFC3339_NANO, RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05",
                 "2006-01-02 15:04:05 -0700", "2006-01-02", "15:04:05", "15:04")  # fmt: skip


def _date(v: Any, layout: Any = None, tz: Any = None) -> GoTime:
    if isinstance(v, GoTime):
        return v
    text = _str(v, "date")
    layouts = [layout] if isinstance(layout, str) else list(_DATE_LAYOUTS)
    for lay in layouts:
        try:
            return parse_time(lay, text)
        except GoTimeError:
            continue
    raise Fail(f'cannot parse "{text}" as date')


def _duration(v: Any) -> GoDuration:
    if isinstance(v, GoDuration):
        return v
    try:
        return parse_duration(_str(v, "duration"))
    except GoTimeError as e:
        raise Fail(str(e)) from None


def _take(arr: Any, n: Any) -> list[Any]:
    if not isinstance(n, int):
        raise Fail(f"cannot take {type_name(n)} elements")
    return _arr(arr, "take")[: max(n, 0)]


def _sort(arr: Any, order: str = "asc") -> list[Any]:
    items = _arr(arr, "sort")
    return sorted(items, key=_sort_key, reverse=order == "desc")


def _uniq(arr: Any) -> list[Any]:
    out: list[Any] = []
    for e in _arr(arr, "uniq"):
        if not any(equal(e, x) for x in out):
            out.append(e)
    return out


def _flatten(arr: Any) -> list[Any]:
    out: list[Any] = []
    for e in _arr(arr, "flatten"):
        out.extend(_flatten(e) if isinstance(e, list | tuple) else [e])
    return out


def _numbers(args: tuple[Any, ...], fn: str) -> list[Any]:
    vals = _flatten(list(args))
    for v in vals:
        _num(v, fn)
    return vals


def _min(*args: Any) -> Any:
    vals = _numbers(args, "min")
    return min(vals) if vals else None


def _max(*args: Any) -> Any:
    vals = _numbers(args, "max")
    return max(vals) if vals else None


def _mean(*args: Any) -> float:
    vals = _numbers(args, "mean")
    return float(statistics.fmean(vals)) if vals else 0.0


def _median(*args: Any) -> float:
    vals = _numbers(args, "median")
    return float(statistics.median(vals)) if vals else 0.0


_SCALAR_TYPES: dict[Scalar, str] = {
    "nil": "nil",
    "bool": "bool",
    "int": "int",
    "float": "float",
    "string": "string",
}


def _type(v: Any) -> str:
    kind = scalar_kind(v)
    if kind is not None:
        return _SCALAR_TYPES[kind]
    if isinstance(v, list | tuple):
        return "array"
    if isinstance(v, Mapping):
        return "map"
    if callable(v):
        return "func"
    return "struct"


def _get(v: Any, key: Any) -> Any:
    if isinstance(v, Mapping):
        return v.get(key)
    if isinstance(v, list | tuple) and isinstance(key, int) and -len(v) <= key < len(v):
        return v[key]
    return None


def _index_of(s: Any, sub: Any) -> int:
    text = _str(s, "indexOf")
    i = text.find(_str(sub, "indexOf"))
    return len(text[:i].encode()) if i >= 0 else -1


BUILTINS: dict[str, Callable[..., Any]] = {
    "all": _all, "any": _any, "none": _none, "one": _one, "filter": _filter, "map": _map,
    "count": _count, "sum": _sum, "find": _finder("find", False, False),
    "findIndex": _finder("findIndex", False, True), "findLast": _finder("findLast", True, False),
    "findLastIndex": _finder("findLastIndex", True, True), "groupBy": _group_by,
    "sortBy": _sort_by, "reduce": _reduce,
    "len": _len,
    "abs": lambda v: abs(_num(v, "abs")),
    "ceil": lambda v: float(math.ceil(_num(v, "ceil"))),
    "floor": lambda v: float(math.floor(_num(v, "floor"))),
    "round": _round,
    "int": _int, "float": _float, "string": _string,
    "trim": lambda s, cut=None: _str(s, "trim").strip(cut) if cut else _str(s, "trim").strip(),
    "trimPrefix": lambda s, p=" ": _str(s, "trimPrefix").removeprefix(p),
    "trimSuffix": lambda s, p=" ": _str(s, "trimSuffix").removesuffix(p),
    "upper": lambda s: _str(s, "upper").upper(),
    "lower": lambda s: _str(s, "lower").lower(),
    "split": _split, "splitAfter": _split_after, "join": _join,
    "replace": lambda s, old, new: _str(s, "replace").replace(old, new),
    "repeat": _repeat,
    "indexOf": _index_of,
    "lastIndexOf": lambda s, sub: _str(s, "lastIndexOf").rfind(sub),
    "hasPrefix": lambda s, p: _str(s, "hasPrefix").startswith(p),
    "hasSuffix": lambda s, p: _str(s, "hasSuffix").endswith(p),
    "keys": _keys, "values": _values,
    "toJSON": _to_json, "fromJSON": _from_json,
    "toBase64": lambda s: base64.b64encode(_str(s, "toBase64").encode()).decode(),
    "fromBase64": _from_base64,
    "now": GoTime.now, "date": _date, "duration": _duration,
    "first": lambda a: (_arr(a, "first") or [None])[0],
    "last": lambda a: (_arr(a, "last") or [None])[-1],
    "take": _take,
    "reverse": lambda a: _arr(a, "reverse")[::-1],
    "sort": _sort, "uniq": _uniq,
    "concat": lambda *arrs: [e for a in arrs for e in _arr(a, "concat")],
    "flatten": _flatten,
    "min": _min, "max": _max, "mean": _mean, "median": _median,
    "type": _type, "get": _get,
    "toPairs": lambda m: [[k, v] for k, v in (m or {}).items()],
    "fromPairs": lambda a: {p[0]: p[1] for p in _arr(a, "fromPairs")},
}  # fmt: skip
