"""Values of the expression language and GitHub's coercion rules.

Pure. Values are ``None``, ``bool``, ``float``, ``str``, ``list``, ``dict`` and
``Filtered`` (the result of an object filter ``.*``). Numbers are JavaScript
doubles; strings compare case-insensitively.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from shipway.ci.expr.lexer import js_to_number
from shipway.templates.kinds import Scalar, plain_number, scalar_kind


class Filtered(list[Any]):
    """The array an object filter (``.*``) yields; property access maps over it."""


def truthy(v: Any) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, float | int) and not isinstance(v, bool):
        return not (v == 0 or math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def js_number(n: float) -> str:
    """Format a number the way JavaScript's ``String(n)`` does."""
    if math.isnan(n):
        return "NaN"
    if math.isinf(n):
        return "Infinity" if n > 0 else "-Infinity"
    if n == 0:
        return "0"
    sign, digit_tuple, exp = Decimal(repr(float(n))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exp, int)
    k = len(digits)
    point = exp + len(digit_tuple)  # JavaScript's n: the decimal point position
    neg = "-" if sign else ""
    if k <= point <= 21:
        return neg + digits + "0" * (point - k)
    if 0 < point <= 21:
        return neg + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return neg + "0." + "0" * (-point) + digits
    e = point - 1
    mant = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{neg}{mant}e{'+' if e >= 0 else '-'}{abs(e)}"


def to_str(v: Any) -> str:
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float | int):
        return number_str(float(v))
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "Array"
    return "Object"


_FIFTEEN = Decimal(1).scaleb(-15)
_WIDE = Context(prec=60)


def number_str(n: float) -> str:
    """A number as a string in expressions: at most 15 decimals, JavaScript formatting."""
    if n == 0 or math.isnan(n) or math.isinf(n) or abs(n) >= 1e21:
        return js_number(n)
    fixed = Decimal(n).quantize(_FIFTEEN, rounding=ROUND_HALF_UP, context=_WIDE)
    return js_number(float(fixed))


def to_num(v: Any) -> float:
    n = plain_number(v)
    if n is not None:
        return n
    if isinstance(v, str):
        return js_to_number(v)
    return float("nan")


_KINDS: dict[Scalar, str] = {
    "nil": "null",
    "bool": "bool",
    "int": "num",
    "float": "num",
    "string": "str",
}


def _kind(v: Any) -> str:
    kind = scalar_kind(v)
    return "obj" if kind is None else _KINDS[kind]


def _upper(s: str) -> str:
    """Upper case as GitHub compares strings (the dotless i stays as it is)."""
    if "ı" not in s:
        return s.upper()
    return "ı".join(part.upper() for part in s.split("ı"))


upper = _upper


def loose_equal(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        if ka == "obj" or kb == "obj":
            return False
        return to_num(a) == to_num(b)
    if ka == "str":
        return bool(_upper(a) == _upper(b))
    if ka == "num":
        return float(a) == float(b)
    if ka == "obj":
        return a is b
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> bool:
    """``<``, ``<=``, ``>``, ``>=`` with GitHub's coercion (strings case-insensitive)."""
    if op in ("<=", ">=") and loose_equal(a, b):
        return True
    ka, kb = _kind(a), _kind(b)
    if ka == kb == "str":
        x: Any = _upper(a)
        y: Any = _upper(b)
    elif ka == "obj" or kb == "obj":
        return False
    else:
        x, y = to_num(a), to_num(b)
        if math.isnan(x) or math.isnan(y):
            return False
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


def to_json(v: Any, indent: str = "") -> str:
    """``JSON.stringify(v, null, 2)``: JavaScript number formatting, NaN and Infinity as null."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int | float):
        return "null" if math.isnan(v) or math.isinf(v) else js_number(float(v))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    inner = indent + "  "
    if isinstance(v, list):
        if not v:
            return "[]"
        items = ",\n".join(inner + to_json(x, inner) for x in v)
        return f"[\n{items}\n{indent}]"
    if not v:
        return "{}"
    items = ",\n".join(
        f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {to_json(x, inner)}"
        for k, x in v.items()
    )
    return f"{{\n{items}\n{indent}}}"


def from_json_value(v: Any) -> Any:
    """Normalise parsed JSON or YAML data to expression values (numbers as floats)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, list):
        return [from_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): from_json_value(x) for k, x in v.items()}
    return str(v)


def integral(v: Any) -> Any:
    """``v`` with integral numbers as ints, as GitHub prints them (``1``, not ``1.0``)."""
    if isinstance(v, float):  # (a YAML loader's float subclass too)
        return int(v) if v.is_integer() and abs(v) < 2**53 else float(v)
    if isinstance(v, list):
        return [integral(x) for x in v]
    if isinstance(v, dict):
        return {k: integral(x) for k, x in v.items()}
    return v
