"""Strings with ``${{ expr }}`` segments, rendered as Kargo renders promotion step config.

Pure. A string that is exactly one ``${{ expr }}`` keeps the expression's type
(a number, a bool, a map); a result that is a string is then read as JSON
when it is valid JSON, as Kargo does, which is why ``quote()`` exists (it
turns ``1`` into the string ``"1"``). Mixed text and segments give a string,
each value printed with Go's ``%v``. ``quote`` and ``unsafe_quote`` are the
two Kargo functions that need no state: callers add them to ``funcs``.
"""

from __future__ import annotations

import json
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
    if len(parts) == 1 and parts[0][0] and text.startswith(OPEN) and text.endswith(CLOSE):
        value = _run(compile_expr, parts[0], text, env, funcs, strict)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    out = []
    for is_expr, body, offset in parts:
        if not is_expr:
            out.append(body)
            continue
        value = _run(compile_expr, (is_expr, body, offset), text, env, funcs, strict)
        out.append(sprint_value(value))
    return "".join(out)


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
    """Kargo's ``quote()``: the value as a JSON string literal (so it stays a string)."""
    return go_json(value if isinstance(value, str) else sprint_value(value), escape_html=False)


def unsafe_quote(value: Any) -> str:
    """Kargo's ``unsafeQuote()``: double quotes around the value, nothing escaped."""
    return '"' + (value if isinstance(value, str) else sprint_value(value)) + '"'


KARGO_PURE_FUNCS: dict[str, Callable[..., Any]] = {"quote": quote, "unsafeQuote": unsafe_quote}
