"""The expression language: literals, coercion, operators, functions, filters."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.ci.expr.evaluate import Scope, eval_text
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.template import condition, render


def ev(text: str, **ctx: Any) -> Any:
    return eval_text(text, Scope(ctx))


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("0xff", 255.0),
        ("1e3", 1000.0),
        ("-2.5", -2.5),
        ("'it''s'", "it's"),
        ("null", None),
        ("true && 'x'", "x"),
        ("0 || 'y'", "y"),
        ("'' && 1", ""),
        ("!0", True),
        ("1 == '1'", True),
        ("'ABC' == 'abc'", True),
        ("null == 0", True),
        ("true == 1", True),
        ("'' == 0", True),
        ("'0x10' == 16", True),
        ("'a' < 'B'", True),
        ("'abc' != 'ABC'", False),
        ("1 < '2'", True),
        ("NaN == NaN", False),
        ("contains('Hello world', 'WORLD')", True),
        ("contains(fromJSON('[1, 2]'), '2')", True),
        ("startsWith('Refs/heads/x', 'refs/')", True),
        ("endsWith('abc', 'C')", True),
        ("format('{0}-{1} {{x}}', 'a', 3)", "a-3 {x}"),
        ("join(fromJSON('[\"a\", 1, true]'), '+')", "a+1+true"),
        ("join('x')", "x"),
        ("toJSON(fromJSON('{\"a\":[1,null]}'))", '{\n  "a": [\n    1,\n    null\n  ]\n}'),
        ("format('{0}', 1.5e-7)", "1.5e-7"),
        ("format('{0}', 0.1)", "0.1"),
        ("format('{0}', fromJSON('[1]'))", "Array"),
    ],
)
def test_literals_operators_functions(text: str, want: Any) -> None:
    assert ev(text) == want


def test_property_index_and_filters() -> None:
    ctx = {
        "github": {"Event": {"commits": [{"message": "a"}, {"message": "b"}, {"x": 1}]}},
        "needs": {"a": {"result": "success"}, "b": {"result": "failure"}},
    }
    assert ev("github.event.commits[1].message", **ctx) == "b"
    assert ev("github['event']['COMMITS'][0]['message']", **ctx) == "a"
    assert ev("github.event.commits.*.message", **ctx) == ["a", "b"]
    assert ev("contains(needs.*.result, 'failure')", **ctx) is True
    assert ev("github.missing.deeper", **ctx) is None
    assert ev("github.event.commits[9]", **ctx) is None


def test_status_functions_use_the_callback() -> None:
    scope = Scope({}, status=lambda name: name == "failure")
    assert eval_text("failure() && !success()", scope) is True
    assert condition("always()", Scope({})) is True


def test_if_without_status_function_implies_success() -> None:
    failing = Scope({"x": {"a": 1.0}}, status=lambda name: name in ("failure", "always"))
    assert condition("x.a == 1", failing) is False
    assert condition("${{ always() && x.a == 1 }}", failing) is True


def test_render_keeps_type_for_lone_expression() -> None:
    scope = Scope({"matrix": {"n": 2.0}})
    assert render("${{ matrix.n }}", scope) == 2.0
    assert render("n=${{ matrix.n }}!", scope) == "n=2!"
    assert render("${{ '}}' }}", scope) == "}}"


@pytest.mark.parametrize(
    ("text", "stage", "message"),
    [
        ("1 +", "lexing", "Unexpected symbol: '+'. Located at position 3 within expression: 1 +"),
        ("0x01p2", "lexing",
         "Unexpected symbol: '0x01p2'. Located at position 1 within expression: 0x01p2"),
        ("'unterminated", "lexing", "Unexpected symbol: ''unterminated'. Located at position 1 "
         "within expression: 'unterminated"),
        ("foo(", "parsing", "Unexpected end of expression: '('"),
        ("a.", "parsing", "Unexpected symbol: 'EOF'"),
        ("1 ==", "parsing", "Unexpected end of expression: '=='"),
        ("contains(1)", "parsing", "Too few parameters supplied: 'contains'"),
        ("contains(1, 2, 3)", "parsing", "Too many parameters supplied: 'contains'"),
        ("nope(1)", "parsing", "Unrecognized function: 'nope'"),
        ("a ! b", "parsing", "Unexpected symbol: '!'"),
        ("foo.bar", "parsing", "Unrecognized named-value: 'foo'"),
        ("'x'.length", "lexing",
         "Unexpected symbol: '.length'. Located at position 4 within expression: 'x'.length"),
        ("1[0]", "parsing", "Unexpected symbol: '['"),
        ("case(true, 1, false, 2)", "parsing",
         "Even number of parameters supplied, requires an odd number of parameters: 'case'"),
        ("format('{0', 1)", "evaluation", "The following format string is invalid: {0"),
        ("format('{1}', 1)", "evaluation",
         "The following format string references more arguments than were supplied: {1}"),
        ("fromJSON('x')", "evaluation", "Error parsing JSON when evaluating fromJson"),
        ("(" * 50 + "1" + ")" * 50, "parsing", "Exceeded max expression depth 50: '1'"),
    ],
)  # fmt: skip
def test_bad_expressions_raise_in_githubs_words(text: str, stage: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        ev(text, a={})
    assert (info.value.stage, info.value.message) == (stage, message)


def test_empty_expression_is_null_and_depth_49_is_fine() -> None:
    assert ev("") is None and ev("  ") is None
    assert ev("(" * 49 + "1" + ")" * 49) == 1
