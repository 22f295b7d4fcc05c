"""Property tests: any input text gives a result or the package's own error, never another one."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipway.templates.errors import ExprError, TemplateError
from shipway.templates.exprlang import evaluate, render_template
from shipway.templates.gotemplate import Limits, render, sprig_funcs

SPRIG = sprig_funcs()
LIMITS = Limits(max_output=20_000, max_steps=20_000, max_depth=20)
DATA: dict[str, Any] = {"a": {"b": [1, "x", None, 2.5]}, "s": "str", "n": 0, "l": [], "t": True}

_TEMPLATE_PIECES = st.sampled_from(
    ["{{", "}}", "{{-", "-}}", " ", ".a", ".a.b", "$", "$x", ":=", "=", "|", "(", ")", "if", "else",
     "end", "range", "with", "define", "template", "block", "break", "continue", '"q"', "`r`",
     "'c'", "1", "-2", "0x1F", "1.5e3", "nil", "true", "index", "len", "printf", '"%d %s %v"',
     "slice", "eq", "and", "or", "not", "default", "toJson", "upper", "dict", "list", "repeat",
     "regexMatch", "/*", "*/", ",", "text", "\n", "}", "{", "@", "é", "\\"]
)  # fmt: skip
_EXPR_PIECES = st.sampled_from(
    ["a", ".", "b", "[", "]", "(", ")", "{", "}", "?", ":", "?.", "??", "+", "-", "*", "/", "%",
     "**", "==", "<", "and", "or", "not", "in", "matches", "..", "#", "1", "0", "2.5", "'s'", '"',
     "nil", "true", ",", "|", "map", "filter", "len", "let", "x", "=", ";", "all", "sum", "$env",
     "upper", "split", "int", "date", "duration", " "]
)  # fmt: skip


def _render(text: str) -> None:
    try:
        out = render(text, DATA, funcs=SPRIG, limits=LIMITS)
    except TemplateError as e:
        assert str(e).startswith("template: ")
        assert e.line >= 0 and e.column >= 0
    else:
        assert isinstance(out, str) and len(out) <= LIMITS.max_output


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TEMPLATE_PIECES, max_size=25).map("".join))
def test_go_template_pieces_never_raise_anything_else(text: str) -> None:
    _render(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_go_template_arbitrary_text_never_raises_anything_else(text: str) -> None:
    _render(text)
    _render("{{" + text + "}}")


def _evaluate(src: str) -> None:
    try:
        evaluate(src, DATA)
    except ExprError as e:
        assert e.reason
        assert e.pos is None or 0 <= e.pos <= len(src)


@settings(max_examples=400, deadline=None)
@given(st.lists(_EXPR_PIECES, max_size=20).map("".join))
def test_expr_pieces_never_raise_anything_else(src: str) -> None:
    _evaluate(src)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_expr_arbitrary_text_never_raises_anything_else(src: str) -> None:
    _evaluate(src)
    with contextlib.suppress(ExprError):
        render_template("x ${{ " + src + " }}", DATA)


def test_deep_nesting_is_refused_cleanly() -> None:
    deep = "{{" + "(" * 500 + "1" + ")" * 500 + "}}"
    try:
        render(deep, {})
    except TemplateError as e:
        assert "nesting" in str(e)
    try:
        evaluate("(" * 2000 + "1" + ")" * 2000)
    except ExprError as e:
        assert "nested" in str(e)
    rec = '{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}'
    try:
        render(rec, {})
    except TemplateError as e:
        assert "exceeded maximum template depth" in str(e)
    else:
        raise AssertionError("endless recursion rendered")
