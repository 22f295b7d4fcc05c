"""text/template's predefined functions: and, or, not, len, index, slice, print,
printf, println, eq, ne, lt, le, gt, ge, html, js, urlquery, call.

Pure. Each takes already-evaluated values (``and``/``or`` take thunks, to
short-circuit) and raises ``FuncError`` with Go's message on misuse.

One deliberate difference: ``eq``/``lt``... compare an int with a float by
value, where Go says "incompatible types for comparison". shipway's data keeps
JSON integers as ints while Argo CD's are all float64, so Go's rule would
reject templates that work in Argo CD.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shipway.templates.gotemplate import gofmt
from shipway.templates.gotemplate.exec import FuncError
from shipway.templates.gotime import GoDuration, GoTime
from shipway.templates.kinds import scalar_kind


def _and(*thunks: Callable[[], Any]) -> Any:
    v: Any = None
    for t in thunks:
        v = t()
        if not gofmt.is_true(v):
            return v
    return v


def _or(*thunks: Callable[[], Any]) -> Any:
    v: Any = None
    for t in thunks:
        v = t()
        if gofmt.is_true(v):
            return v
    return v


_and.lazy_args = True  # type: ignore[attr-defined]
_or.lazy_args = True  # type: ignore[attr-defined]


def _not(arg: Any) -> bool:
    return not gofmt.is_true(arg)


def _len(item: Any) -> int:
    if item is None:
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, list | tuple | Mapping | bytes):
        return len(item)
    raise FuncError(f"len of type {gofmt.type_name(item)}")


def _index_of(item: Any, idx: Any, length: int, cap: int | None = None) -> int:
    if isinstance(idx, bool) or not isinstance(idx, int):
        raise FuncError(f"cannot index slice/array with type {gofmt.type_name(idx)}")
    if idx < 0 or idx >= (length if cap is None else cap + 1):
        raise FuncError(f"index out of range: {idx}")
    return idx


def _index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("index of untyped nil")
    for idx in indexes:
        if isinstance(item, list | tuple):
            item = item[_index_of(item, idx, len(item))]
        elif isinstance(item, str):
            b = item.encode()
            item = b[_index_of(item, idx, len(b))]
        elif isinstance(item, Mapping):
            if idx is None:
                raise FuncError("value is nil; should be string")
            if not isinstance(idx, str) and all(isinstance(k, str) for k in item):
                raise FuncError(f"value has type {gofmt.type_name(idx)}; should be string")
            item = item.get(idx)
        elif item is None:
            raise FuncError("index of nil pointer")
        else:
            raise FuncError(f"can't index item of type {gofmt.type_name(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        seq: Any = item.encode()
    elif isinstance(item, list | tuple):
        seq = item
    else:
        raise FuncError(f"can't slice item of type {gofmt.type_name(item)}")
    cap = len(seq)
    idx = [0, len(seq)]
    for i, x in enumerate(indexes):
        idx_i = _index_of(seq, x, len(seq), cap)
        if i < 2:
            idx[i] = idx_i
        elif idx_i < idx[1]:
            raise FuncError(f"invalid slice index: {idx_i} < {idx[1]}")
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    out = seq[idx[0] : idx[1]]
    return out.decode("utf-8", "replace") if isinstance(item, str) else list(out)


def _kind(v: Any) -> str:
    kind = scalar_kind(v)
    if kind in ("int", "float"):
        return "number"
    if kind is not None:
        return kind
    if isinstance(v, GoTime | GoDuration):
        return "struct"
    return "other"


def _eq(arg1: Any, *args: Any) -> bool:
    if not args:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for a in args:
        k2 = _kind(a)
        if k1 != k2:
            if k1 != "nil" and k2 != "nil":
                raise FuncError("incompatible types for comparison")
            continue
        if k1 == "other":
            raise FuncError(f"non-comparable type {gofmt.sprint_value(a)}: {gofmt.type_name(a)}")
        if arg1 == a:
            return True
    return False


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = _kind(a), _kind(b)
    if ka not in ("number", "string") or kb not in ("number", "string"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return a, b


def _lt(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x < y)


def _le(a: Any, b: Any) -> bool:
    x, y = _ordered(a, b)
    return bool(x <= y)


def _gt(a: Any, b: Any) -> bool:
    return not _le(a, b)


def _ge(a: Any, b: Any) -> bool:
    return not _lt(a, b)


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return gofmt.sprint(*("<no value>" if a is None else a for a in args))


_HTML = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\x00": "\ufffd"}


def _html(*args: Any) -> str:
    return "".join(_HTML.get(c, c) for c in _eval_args(args))


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026"}
_JS["="] = "\\u003D"


def _js(*args: Any) -> str:
    out = []
    for c in _eval_args(args):
        if c in _JS:
            out.append(_JS[c])
        elif ord(c) < 0x20 or (ord(c) >= 0x80 and not c.isprintable()):
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def query_escape(s: str) -> str:
    """url.QueryEscape."""
    out = []
    for b in s.encode():
        if b in _URL_SAFE:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def _urlquery(*args: Any) -> str:
    return query_escape(_eval_args(args))


def _call(fn: Any, *args: Any) -> Any:
    if fn is None:
        raise FuncError("call of nil")
    if not callable(fn):
        raise FuncError(f"non-function of type {gofmt.type_name(fn)}")
    return fn(*args)


def _printf(fmt: str, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise FuncError(f"wrong type for value; expected string; got {gofmt.type_name(fmt)}")
    return gofmt.sprintf(fmt, *args)


BUILTINS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "or": _or,
    "not": _not,
    "len": _len,
    "index": _index,
    "slice": _slice,
    "print": gofmt.sprint,
    "printf": _printf,
    "println": gofmt.sprintln,
    "eq": _eq,
    "ne": _ne,
    "lt": _lt,
    "le": _le,
    "gt": _gt,
    "ge": _ge,
    "html": _html,
    "js": _js,
    "urlquery": _urlquery,
    "call": _call,
}
