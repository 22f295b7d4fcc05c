"""sprig's list and dict functions (``list``, ``first``, ``uniq``, ``dict``, ``merge``, ``dig``...).

Pure. Part of ``funcs_sprig`` (see its docstring), which adds ``LISTS`` to
``SPRIG``: the subject last, lists and maps of the wrong type refused with
sprig's message, ``untilStep`` bounded by ``MAX_REPEAT``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shipway.templates.gojson import to_int
from shipway.templates.gotemplate import gofmt
from shipway.templates.gotemplate.exec import FuncError
from shipway.templates.gotemplate.funcs_values import MAX_REPEAT, bounded, empty, strslice, strval


def _dict(*v: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = list(v)
    if len(items) % 2:
        items.append("")
    for i in range(0, len(items), 2):
        out[strval(items[i])] = items[i + 1]
    return out


def _need_map(d: Any) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise FuncError(
            f"wrong type for value; expected map[string]interface {{}}; got {gofmt.type_name(d)}"
        )
    return d


def _get(d: Any, key: str) -> Any:
    return _need_map(d).get(key, "")


def _set(d: Any, key: str, value: Any) -> Any:
    _need_map(d)[key] = value
    return d


def _unset(d: Any, key: str) -> Any:
    _need_map(d).pop(key, None)
    return d


def _keys(*dicts: Any) -> list[str]:
    return [k for d in dicts for k in _need_map(d)]


def _pluck(name: str, *dicts: Any) -> list[Any]:
    return [d[name] for d in dicts if name in _need_map(d)]


def _pick(d: Any, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in _need_map(d).items() if k in keys}


def _omit(d: Any, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in _need_map(d).items() if k not in keys}


def _merge(dst: Any, *srcs: Any, overwrite: bool = False) -> Any:
    def deep(a: dict[str, Any], b: Mapping[str, Any]) -> None:
        for k, v in b.items():
            if k in a and isinstance(a[k], dict) and isinstance(v, Mapping):
                deep(a[k], v)
            elif k not in a or overwrite or empty(a[k]):
                a[k] = v

    for s in srcs:
        deep(_need_map(dst), _need_map(s))
    return dst


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise FuncError("dig needs at least three arguments")
    *keys, default, d = args
    cur: Any = d
    for k in keys:
        if not isinstance(cur, Mapping) or k not in cur:
            return default
        cur = cur[k]
    return cur


def _deep_copy(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _deep_copy(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_deep_copy(x) for x in v]
    return v


def _need_list(v: Any, name: str) -> list[Any]:
    if isinstance(v, list | tuple):
        return list(v)
    raise FuncError(f"Cannot find {name} on type {gofmt.type_name(v)}")


def _first(v: Any) -> Any:
    lst = _need_list(v, "first")
    return lst[0] if lst else None


def _last(v: Any) -> Any:
    lst = _need_list(v, "last")
    return lst[-1] if lst else None


def _uniq(v: Any) -> list[Any]:
    out: list[Any] = []
    for e in _need_list(v, "uniq"):
        if e not in out:
            out.append(e)
    return out


def _has(needle: Any, haystack: Any) -> bool:
    return haystack is not None and needle in _need_list(haystack, "has")


def _until(n: Any) -> list[int]:
    k = to_int(n)
    return list(range(0, bounded(k))) if k >= 0 else list(range(0, -bounded(-k), -1))


def _until_step(start: Any, stop: Any, step: Any) -> list[int]:
    a, b, s = to_int(start), to_int(stop), to_int(step)
    if s == 0 or (b - a) * s < 0:
        return []
    if abs((b - a) // s) > MAX_REPEAT:
        raise FuncError(f"untilStep would make more than {MAX_REPEAT} items")
    return list(range(a, b, s))


LISTS: dict[str, Callable[..., Any]] = {
    # lists
    "list": lambda *v: list(v),
    "tuple": lambda *v: list(v),
    "first": _first,
    "mustFirst": _first,
    "last": _last,
    "mustLast": _last,
    "rest": lambda v: _need_list(v, "rest")[1:],
    "initial": lambda v: _need_list(v, "initial")[:-1],
    "append": lambda v, x: [*_need_list(v, "append"), x],
    "push": lambda v, x: [*_need_list(v, "push"), x],
    "mustAppend": lambda v, x: [*_need_list(v, "append"), x],
    "prepend": lambda v, x: [x, *_need_list(v, "prepend")],
    "concat": lambda *ls: [e for lst in ls for e in _need_list(lst, "concat")],
    "uniq": _uniq,
    "mustUniq": _uniq,
    "without": lambda v, *o: [e for e in _need_list(v, "without") if e not in o],
    "has": _has,
    "compact": lambda v: [e for e in _need_list(v, "compact") if not empty(e)],
    "reverse": lambda v: _need_list(v, "reverse")[::-1],
    "sortAlpha": lambda v: sorted(strslice(v)),
    "until": _until,
    "untilStep": _until_step,
    # dicts
    "dict": _dict,
    "get": _get,
    "set": _set,
    "unset": _unset,
    "hasKey": lambda d, k: k in _need_map(d),
    "keys": _keys,
    "values": lambda d: list(_need_map(d).values()),
    "pluck": _pluck,
    "pick": _pick,
    "omit": _omit,
    "merge": _merge,
    "mustMerge": _merge,
    "mergeOverwrite": lambda d, *s: _merge(d, *s, overwrite=True),
    "dig": _dig,
    "deepCopy": _deep_copy,
    "mustDeepCopy": _deep_copy,
}
