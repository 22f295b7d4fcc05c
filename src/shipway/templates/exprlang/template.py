"""Strings with ``${{ expr }}`` segments, rendered as Kargo renders promotion step config.

Pure. As Kargo's ``EvaluateTemplate``: each segment's value is written as is
when it is a string, else as its JSON (Go's ``json.Marshal``: ``nil`` is
``null``, a map ``{"a":1}``); the whole result, one trailing newline set
aside, is then read back: surrounding double quotes are removed (a string),
else it is a number, a bool (Go's ``ParseBool``: ``true``, ``t``, ``1``...),
any JSON value, or the string. That is why ``quote()`` exists: ``quote(1)``
renders ``"1"`` and so stays the string ``1``; ``quote(map)`` is the map's
JSON as a string (a request body). ``quote`` and ``unsafe_quote`` are the
two Kargo functions that need no state: callers add them to ``funcs``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from shipway.templates.errors import ExprError
from shipway.templates.gojson import go_json
from shipway.templates.gotemplate.gofmt import sprint_value

OPEN, CLOSE = "${{", "}}"


def segments(text: str) -> list[tuple[bool, str, int]]:
    """Split into (is_expression, text, offset); ``}}`` inside a quoted string does not close."""
    out: list[tuple[bool, str, int]] = []
    i = 0
    while True:
        j = text.find(OPEN, i)
        if j < 0:
            if i < len(text):
                out.append((False, text[i:], i))
            return out
        if j > i:
            out.append((False, text[i:j], i))
        k = j + len(OPEN)
        quote = ""
        while k < len(text):
            c = text[k]
            if quote:
                if c == "\\" and quote != "`":
                    k += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'`":
                quote = c
            elif text.startswith(CLOSE, k):
                break
            k += 1
        if k >= len(text):
            raise ExprError("unclosed ${{ expression", source=text, pos=j)
        out.append((True, text[j + len(OPEN) : k], j + len(OPEN)))
        i = k + len(CLOSE)


def render_template(
    text: str,
    env: Mapping[str, Any] | None = None,
    *,
    funcs: Mapping[str, Callable[..., Any]] | None = None,
    strict: bool = False,
) -> Any:
    """Evaluate every ``${{ }}`` segment of ``text``; see the module docstring for typing."""
    from shipway.templates.exprlang import compile_expr

    parts = segments(text)
    if not any(is_expr for is_expr, _b, _o in parts):
        return text
    out = []
    for is_expr, body, offset in parts:
        if not is_expr:
            out.append(body)
            continue
        value = _run(compile_expr, (is_expr, body, offset), text, env, funcs, strict)
        out.append(value if isinstance(value, str) else _marshal(value))
    return _coerce("".join(out))


_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BOOLS = {
    "1": True,
    "t": True,
    "T": True,
    "TRUE": True,
    "true": True,
    "True": True,
    "0": False,
    "f": False,
    "F": False,
    "FALSE": False,
    "false": False,
    "False": False,
}


def _marshal(value: Any) -> str:
    """Go's ``json.Marshal`` of an expression's non-string value (``%v`` if it has none)."""
    try:
        return go_json(value)
    except (TypeError, ValueError):
        if "String" in getattr(type(value), "GO_METHODS", ()):  # a Go Stringer's JSON
            return go_json(value.String())
        return sprint_value(value)


def _coerce(result: str) -> Any:
    """Kargo's reading of a rendered template: one trailing newline set aside, surrounding
    double quotes removed (a string, as ``quote()`` asks), else a number (Go's
    ``ParseFloat``), a bool (``ParseBool``), any JSON value, or the string itself."""
    newline = result.endswith("\n")
    if newline:
        result = result[:-1]
    if len(result) > 1 and result.startswith('"') and result.endswith('"'):
        return result[1:-1] + ("\n" if newline else "")
    number = float(result) if _FLOAT.match(result) else math.inf
    if not math.isinf(number):  # Go's ParseFloat refuses what overflows
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if result in _BOOLS:
        return _BOOLS[result]
    try:
        return json.loads(result, parse_constant=_no_constant, parse_float=_finite,
                          parse_int=_finite_int)  # fmt: skip
    except ValueError:
        return result + ("\n" if newline else "")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} overflows a float64")
    return number


def _finite_int(text: str) -> int | float:
    number = int(text)
    return number if abs(number) < 2**63 else _finite(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _run(
    compile_fn: Callable[..., Any],
    part: tuple[bool, str, int],
    text: str,
    env: Mapping[str, Any] | None,
    funcs: Mapping[str, Callable[..., Any]] | None,
    strict: bool,
) -> Any:
    _, body, offset = part
    try:
        return compile_fn(body, funcs=funcs, strict=strict).run(env)
    except ExprError as e:
        pos = offset + (e.pos or 0)
        raise ExprError(e.reason, source=text, pos=pos) from None


def quote(value: Any) -> str:
    """Kargo's ``quote()``: a string in Go's ``%q``; any other value as unsafeQuote does.

    Rendering removes the surrounding quotes again, so the value stays a string."""
    if isinstance(value, str):
        return go_quote(value)
    return unsafe_quote(value)


def unsafe_quote(value: Any) -> str:
    """Kargo's ``unsafeQuote()``: the value's JSON (Go's ``json.Marshal``) in double quotes,
    escapes kept (a string comes out with visible quotation marks)."""
    return '"' + _marshal(value) + '"'


_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (``%q``) of a string."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


KARGO_PURE_FUNCS: dict[str, Callable[..., Any]] = {"quote": quote, "unsafeQuote": unsafe_quote}
