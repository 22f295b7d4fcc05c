"""Go's ``encoding/json`` output and sprig's ``cast`` conversions, shared by both languages.

Pure. ``go_json`` prints as ``json.Marshal`` does: sorted map keys, floats in
Go's shortest form (``1`` not ``1.0``), ``<``, ``>``, ``&`` escaped unless
``escape_html`` is False, ``MarshalIndent`` when ``indent`` is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from shipway.templates.gotime import GoDuration, GoTime
from shipway.templates.kinds import plain_number


class JSONError(ValueError):
    """A value json.Marshal refuses (NaN, Inf, a function)."""


def _float(f: float) -> str:
    if math.isnan(f) or math.isinf(f):
        raise JSONError(f"json: unsupported value: {f}")
    if f == int(f) and abs(f) < 1e21:
        return str(int(f)) if f != 0 or math.copysign(1, f) > 0 else "-0"
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        s = repr(f)
        if "e" not in s:
            s = f"{f:.17e}"
        m = re.match(r"(-?[0-9.]+)e([+-])0*([0-9]+)", s)
        if m:
            return f"{m.group(1)}e{m.group(2)}{m.group(3)}"
        return s
    return repr(f)


_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str, escape_html: bool) -> str:
    out = ['"']
    for c in s:
        if c in _ESC:
            out.append(_ESC[c])
        elif ord(c) < 0x20 or c in "\u2028\u2029" or (escape_html and c in "<>&"):
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def go_json(v: Any, *, escape_html: bool = True, indent: str | None = None, _level: int = 0) -> str:
    """json.Marshal (or MarshalIndent with prefix "" and ``indent``) of a value."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, str):
        return _string(v, escape_html)
    if isinstance(v, GoTime):
        return _string(v.Format("2006-01-02T15:04:05.999999999Z07:00"), escape_html)
    if isinstance(v, GoDuration):
        return str(v.ns)
    if isinstance(v, Mapping | list | tuple):
        if isinstance(v, Mapping):
            keys = sorted(v, key=str)
            parts = [
                _string(str(k), escape_html)
                + (": " if indent is not None else ":")
                + go_json(v[k], escape_html=escape_html, indent=indent, _level=_level + 1)
                for k in keys
            ]
            open_, close_ = "{", "}"
        else:
            parts = [
                go_json(e, escape_html=escape_html, indent=indent, _level=_level + 1) for e in v
            ]
            open_, close_ = "[", "]"
        if not parts:
            return open_ + close_
        if indent is None:
            return open_ + ",".join(parts) + close_
        pad = "\n" + indent * (_level + 1)
        return open_ + pad + ("," + pad).join(parts) + "\n" + indent * _level + close_
    raise JSONError(f"json: unsupported type: {type(v).__name__}")


def _trim_zero_decimal(s: str) -> str:
    m = re.fullmatch(r"(-?\d+)\.0*", s)
    return m.group(1) if m else s


def to_int(v: Any) -> int:
    """spf13/cast ToInt64 as sprig uses it: 0 for what it cannot convert."""
    if v is None:
        return 0
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if math.isfinite(v) else 0
    if isinstance(v, GoDuration):
        return v.ns
    if isinstance(v, str):
        s = _trim_zero_decimal(v.strip())
        try:
            body = s.lstrip("+-")
            if len(body) > 1 and body[0] == "0" and body[1] in "0123456789":
                return int(s, 8)
            return int(s, 0)
        except ValueError:
            return 0
    return 0


def to_float(v: Any) -> float:
    """spf13/cast ToFloat64: 0 for what it cannot convert."""
    n = plain_number(v)
    if n is not None:
        return n
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return 0.0
    return 0.0
