"""``${{ expr }}`` interpolation in workflow strings, and ``if:`` conditions.

Pure. ``split`` finds the expressions in a string (respecting quoted strings
inside them); ``render`` evaluates them; ``condition`` applies GitHub's rule
that an ``if`` without a status function means ``success() && (...)``.
"""

from __future__ import annotations

from typing import Any

from shipway.ci.expr.evaluate import Scope, compile_expr, evaluate, names
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.parser import NAMED_VALUES, STATUS_FUNCTIONS, functions_used
from shipway.ci.expr.values import to_str, truthy

Part = tuple[bool, str, int]  # (is_expression, text, offset in the string)


def split(text: str) -> list[Part]:
    """Split ``text`` into literal parts and expression parts; raise on an unclosed ``${{``."""
    parts: list[Part] = []
    i = 0
    while True:
        start = text.find("${{", i)
        if start < 0:
            if i < len(text):
                parts.append((False, text[i:], i))
            return parts
        if start > i:
            parts.append((False, text[i:start], i))
        j = start + 3
        quoted = False
        while j < len(text):
            c = text[j]
            if c == "'":
                quoted = not quoted
            elif not quoted and text.startswith("}}", j):
                break
            j += 1
        else:
            raise ExprError("expression is not closed: '${{' without '}}'", start)
        parts.append((True, text[start + 3 : j].strip(), start + 3))
        i = j + 2


def has_expr(value: Any) -> bool:
    return isinstance(value, str) and "${{" in value


def has_expr_within(value: Any) -> bool:
    """Whether a string, or any key or value of nested mappings and lists, holds ``${{``."""
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, dict):
        return any(has_expr_within(k) or has_expr_within(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_expr_within(v) for v in value)
    return False


def render(text: str, scope: Scope) -> Any:
    """Evaluate a string with ``${{ }}``: a lone expression keeps its type, else a string."""
    if "${{" not in text:
        return text
    parts = split(text)
    named = names(scope)
    if len(parts) == 1 and parts[0][0]:
        return evaluate(compile_expr(parts[0][1], named), scope)
    out = []
    for is_expr, body, _ in parts:
        out.append(to_str(evaluate(compile_expr(body, named), scope)) if is_expr else body)
    return "".join(out)


def render_str(text: str, scope: Scope) -> str:
    return to_str(render(text, scope))


def render_deep(value: Any, scope: Scope) -> Any:
    """Render every string inside lists and mappings (keys too; ``${{ insert }}`` merges)."""
    if isinstance(value, str):
        return render(value, scope)
    if isinstance(value, list):
        return [render_deep(v, scope) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if is_insert(k):  # GitHub's ${{ insert }}: the mapping it gives, merged in here
                pairs = render_deep(v, scope)
                if not isinstance(pairs, dict):
                    raise ExprError("the value of ${{ insert }} must be a mapping")
                out.update(pairs)
            else:
                out[to_str(render(k, scope))] = render_deep(v, scope)
        return out
    return value


def is_insert(key: Any) -> bool:
    """A mapping key that is GitHub's ``${{ insert }}`` directive."""
    if not isinstance(key, str) or "${{" not in key:
        return False
    parts = split(key.strip())
    return len(parts) == 1 and parts[0][0] and parts[0][1] == "insert"


def condition_text(cond: Any, named: frozenset[str] = NAMED_VALUES) -> str:
    """The expression an ``if:`` value stands for (``${{ }}`` optional, default success())."""
    if cond is None or cond == "":
        return "success()"
    if isinstance(cond, bool):
        return "true" if cond else "false"
    if isinstance(cond, int | float):
        return str(cond)
    text = str(cond).strip()
    parts = split(text)
    if len(parts) == 1 and parts[0][0]:
        text = parts[0][1]
    elif any(p[0] for p in parts):
        # mixed literal text and expressions: GitHub treats it as a (truthy) string
        return "format(" + repr_str(text) + ")"
    if not text.strip():
        return "success()"
    node = compile_expr(text, named)
    if not (functions_used(node) & STATUS_FUNCTIONS):
        return f"success() && ({text})"
    return text


def repr_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def condition(cond: Any, scope: Scope) -> bool:
    named = names(scope)
    text = condition_text(cond, named)
    if text.startswith("format("):
        return truthy(render(str(cond), scope))
    return truthy(evaluate(compile_expr(text, named), scope))
