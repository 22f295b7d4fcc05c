"""expr-lang as its language definition (expr-lang.org/docs/language-definition) documents it,
with Argo CD notification trigger conditions and Kargo expressions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from shipway.templates.exprlang import ExprError, compile_expr, evaluate
from shipway.templates.gotime import GoDuration, GoTime

ENV: dict[str, Any] = {
    "app": {
        "metadata": {"name": "guestbook", "annotations": {}},
        "status": {
            "operationState": {"phase": "Succeeded", "startedAt": "2024-01-01T00:00:00Z"},
            "health": {"status": "Healthy"},
            "sync": {"status": "Synced", "revision": "abc123"},
        },
    },
    "users": [{"Name": "ann", "Age": 31}, {"Name": "bob", "Age": 17}, {"Name": "cy", "Age": 45}],
    "tweets": [{"Size": 100}, {"Size": 300}],
    "n": 3,
    "f": 2.5,
    "s": "hello",
    "none": None,
    "arr": [1, 2, 3, 4],
}

CASES: list[tuple[str, Any]] = [
    # literals
    ("42", 42),
    ("0x1F", 31),
    ("0o17", 15),
    ("0b101", 5),
    ("1_000_000", 1000000),
    ("1.5", 1.5),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("'single'", "single"),
    ('"double\\n"', "double\n"),
    ("`raw\\n`", "raw\\n"),
    ("true", True),
    ("false", False),
    ("nil", None),
    ("[1, 'a', nil]", [1, "a", None]),
    ("{a: 1, 'b c': 2}", {"a": 1, "b c": 2}),
    ("{(1 + 1): 'two'}", {2: "two"}),
    ("[]", []),
    ("{}", {}),
    ('"\\u00e9"', "é"),
    # arithmetic
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("7 / 2", 3.5),
    ("6 / 3", 2.0),
    ("7 % 3", 1),
    ("-7 % 3", -1),
    ("2 ** 10", 1024.0),
    ("2 ^ 3", 8.0),
    ("2 ** 3 ** 2", 512.0),
    ("-n", -3),
    ("+n", 3),
    ("n * f", 7.5),
    ("1 - 2 - 3", -4),
    ("'a' + 'b'", "ab"),
    ("10 / 4 * 2", 5.0),
    ("9223372036854775807 + 1", -9223372036854775808),
    # comparison and logic
    ("1 < 2", True),
    ("2 <= 2", True),
    ("3 > 4", False),
    ("1 == 1.0", True),
    ("'a' < 'b'", True),
    ("1 != 2", True),
    ("nil == nil", True),
    ("none == nil", True),
    ("1 == '1'", False),
    ("[1, 2] == [1, 2]", True),
    ("{a: 1} == {a: 1}", True),
    ("true == 1", False),
    ("true and false", False),
    ("true && true", True),
    ("false or true", True),
    ("false || false", False),
    ("not true", False),
    ("!false", True),
    ("not (1 > 2)", True),
    ("false and nil.x", False),
    ("true or nil.x", True),
    # membership and string operators
    ("2 in arr", True),
    ("5 in arr", False),
    ("5 not in arr", True),
    ("'a' in {a: 1}", True),
    ("'Name' in users[0]", True),
    ("'x' in none", False),
    ("s contains 'ell'", True),
    ("s startsWith 'he'", True),
    ("s endsWith 'lo'", True),
    ("s matches '^h.*o$'", True),
    ("s not matches '^x'", True),
    ("s not contains 'z'", True),
    # ranges, ternary, nil coalescing, optional chaining
    ("1..4", [1, 2, 3, 4]),
    ("3..1", []),
    ("n > 2 ? 'big' : 'small'", "big"),
    ("n > 5 ? 'big' : n > 2 ? 'mid' : 'small'", "mid"),
    ("none ?? 'default'", "default"),
    ("s ?? 'default'", "hello"),
    ("app?.metadata?.name", "guestbook"),
    ("none?.x", None),
    ("none?.x.y.z", None),
    ("app.nope?.x", None),
    ("none?.[0]", None),
    # member, index, slice
    ("app.metadata.name", "guestbook"),
    ("app['metadata']['name']", "guestbook"),
    ("app.status.sync.revision", "abc123"),
    ("app.nope", None),
    ("arr[0]", 1),
    ("arr[-1]", 4),
    ("arr[1:3]", [2, 3]),
    ("arr[:2]", [1, 2]),
    ("arr[2:]", [3, 4]),
    ("s[1:3]", "el"),
    ("users[1].Name", "bob"),
    ("$env.n", 3),
    ("$env['s']", "hello"),
    # closures and predicates
    ("all(tweets, {.Size < 280})", False),
    ("any(tweets, .Size > 280)", True),
    ("none(users, .Age > 100)", True),
    ("one(users, .Age < 18)", True),
    ("filter(users, .Age > 18) | map(.Name)", ["ann", "cy"]),
    ("map(users, .Name)", ["ann", "bob", "cy"]),
    ("map(0..3, # * 2)", [0, 2, 4, 6]),
    ("count(users, .Age > 18)", 2),
    ("count([true, false, true])", 2),
    ("sum(arr)", 10),
    ("sum(users, .Age)", 93),
    ("find(users, .Age > 40).Name", "cy"),
    ("findIndex(users, .Name == 'bob')", 1),
    ("findLast(arr, # < 3)", 2),
    ("findLastIndex(arr, # > 10)", -1),
    ("find(arr, # > 10)", None),
    ("groupBy(users, .Age > 18)[true] | map(.Name)", ["ann", "cy"]),
    ("sortBy(users, .Age) | map(.Name)", ["bob", "ann", "cy"]),
    ("sortBy(users, .Age, 'desc') | map(.Name)", ["cy", "ann", "bob"]),
    ("reduce(arr, #acc + #)", 10),
    ("reduce(arr, #acc + #, 10)", 20),
    ("map(arr, #index)", [0, 1, 2, 3]),
    ("filter(arr, # % 2 == 0)", [2, 4]),
    ("map(filter(users, {.Age > 18}), {.Name + '!'})", ["ann!", "cy!"]),
    # let
    ("let x = 2; x * n", 6),
    ("let x = 1; let y = x + 1; y * 10", 20),
    # builtins
    ("len(arr)", 4),
    ("len('héllo')", 5),
    ("len({a: 1})", 1),
    ("abs(-3)", 3),
    ("abs(-2.5)", 2.5),
    ("ceil(1.2)", 2.0),
    ("floor(1.8)", 1.0),
    ("round(2.5)", 3.0),
    ("round(-2.5)", -3.0),
    ("int('42')", 42),
    ("int(3.9)", 3),
    ("float('1.5')", 1.5),
    ("float(2)", 2.0),
    ("string(42)", "42"),
    ("string([1, 2])", "[1 2]"),
    ("trim('  x  ')", "x"),
    ("trim('__x__', '_')", "x"),
    ("trimPrefix('v1.2', 'v')", "1.2"),
    ("trimSuffix('a.go', '.go')", "a"),
    ("upper('abc')", "ABC"),
    ("lower('ABC')", "abc"),
    ("split('a,b,c', ',')", ["a", "b", "c"]),
    ("split('a,b,c', ',', 2)", ["a", "b,c"]),
    ("splitAfter('a,b', ',')", ["a,", "b"]),
    ("join(['a', 'b'], '-')", "a-b"),
    ("join(['a', 'b'])", "ab"),
    ("replace('a-b-c', '-', '+')", "a+b+c"),
    ("repeat('ab', 3)", "ababab"),
    ("indexOf('hello', 'l')", 2),
    ("lastIndexOf('hello', 'l')", 3),
    ("hasPrefix(s, 'he')", True),
    ("hasSuffix(s, 'x')", False),
    ("keys({a: 1})", ["a"]),
    ("values({a: 1})", [1]),
    ("toJSON({b: 1, a: [1, 2.5]})", '{\n  "a": [\n    1,\n    2.5\n  ],\n  "b": 1\n}'),
    ("fromJSON('{\"a\": [1, true]}')", {"a": [1, True]}),
    ("toBase64('hi')", "aGk="),
    ("fromBase64('aGk=')", "hi"),
    ("first(arr)", 1),
    ("last(arr)", 4),
    ("first([])", None),
    ("take(arr, 2)", [1, 2]),
    ("reverse(arr)", [4, 3, 2, 1]),
    ("sort([3, 1, 2])", [1, 2, 3]),
    ("sort(['b', 'a'], 'desc')", ["b", "a"]),
    ("uniq([1, 2, 1, 3])", [1, 2, 3]),
    ("concat([1], [2, 3])", [1, 2, 3]),
    ("flatten([1, [2, [3]]])", [1, 2, 3]),
    ("min(3, 1, 2)", 1),
    ("max([3, 1, 2])", 3),
    ("mean([1, 2, 3, 4])", 2.5),
    ("median([1, 5, 3])", 3.0),
    ("type(1)", "int"),
    ("type(1.5)", "float"),
    ("type('')", "string"),
    ("type(nil)", "nil"),
    ("type([])", "array"),
    ("type({})", "map"),
    ("get(arr, 10)", None),
    ("get({a: 1}, 'a')", 1),
    ("toPairs({a: 1})", [["a", 1]]),
    ("fromPairs([['a', 1]])", {"a": 1}),
    # comments
    ("1 /* one */ + 2 // the rest", 3),
    # Argo CD catalog triggers
    (
        "app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'",
        True,
    ),
    (
        "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
        False,
    ),
    ("app.status.sync.status == 'Unknown'", False),
]


@pytest.mark.parametrize(("src", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_expr(src: str, expected: Any) -> None:
    got = evaluate(src, ENV)
    assert got == expected
    assert type(got) is type(expected)


def test_division_by_zero_gives_go_floats() -> None:
    assert evaluate("1 / 0") == math.inf
    assert math.isnan(evaluate("0 / 0"))


def test_time_and_duration() -> None:
    env = {"t": "2024-01-01T00:00:00Z"}
    assert evaluate("(date('2024-01-02T00:00:00Z') - date(t)).Hours()", env) == 24.0
    assert evaluate("date(t) + duration('90m') > date(t)", env) is True
    assert evaluate("duration('1h30m').Minutes()", env) == 90.0
    assert evaluate("date(t).Format('Jan 2, 2006')", env) == "Jan 1, 2024"
    assert evaluate("date('2024-05-06').Year()", env) == 2024
    assert evaluate("now() - duration('1h') < now()", env) is True
    assert isinstance(evaluate("now()"), GoTime)
    assert evaluate("duration('2s') * 3") == GoDuration(6_000_000_000)


def test_argocd_time_functions_from_the_environment() -> None:
    """The notifications docs' ``time.Now().Sub(time.Parse(...)).Minutes() >= 5`` style."""
    from shipway.templates.gotime import RFC3339, parse_time

    now = parse_time(RFC3339, "2024-01-01T00:10:00Z")
    env = {
        "time": {"Now": lambda: now, "Parse": lambda s: parse_time(RFC3339, s)},
        "app": ENV["app"],
    }
    src = "time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5"
    assert evaluate(src, env) is True


def test_caller_functions_override_and_extend() -> None:
    funcs = {"double": lambda x: x * 2, "len": lambda x: -1}
    assert evaluate("double(21)", funcs=funcs) == 42
    assert evaluate("len([1])", funcs=funcs) == -1
    assert evaluate("[1, 2] | map(double(#))", funcs=funcs) == [2, 4]


def test_compiled_program_runs_many_times() -> None:
    prog = compile_expr("app.status.sync.revision")
    assert prog.run(ENV) == "abc123"
    assert prog.run({"app": {"status": {"sync": {"revision": "def"}}}}) == "def"


def test_unknown_names_are_nil_unless_strict() -> None:
    assert evaluate("nope == nil") is True
    with pytest.raises(ExprError, match="unknown name nope"):
        evaluate("nope == nil", strict=True)


SYNTAX_ERRORS = [
    ("1 +", "unexpected token EOF (1:4)"),
    ("(1", "unexpected token EOF"),
    ("1 2", 'unexpected token Number("2") (1:3)'),
    ("foo(", "unexpected token EOF"),
    ("[1, 2", "unexpected token EOF"),
    ("'abc", "literal not terminated (1:1)"),
    ("a @ b", "unrecognized character: U+0040 '@' (1:3)"),
    ("#", "cannot use pointer accessor outside predicate"),
    ("let = 1; 2", 'unexpected token Operator("=")'),
    ("'\\q'", "invalid char escape"),
    ("1 ? 2", "unexpected token EOF"),
    ("{a 1}", 'unexpected token Number("1")'),
    ("", "unexpected token EOF"),
    ("a | b", "the right side of a pipe must be a function call"),
]


@pytest.mark.parametrize(("src", "message"), SYNTAX_ERRORS)
def test_syntax_errors(src: str, message: str) -> None:
    with pytest.raises(ExprError) as err:
        compile_expr(src)
    assert message in str(err.value)
    assert err.value.line == 1


RUNTIME_ERRORS = [
    ("'a' < 1", "invalid operation: < (mismatched types string and int) (1:5)"),
    ("1 + 'a'", "invalid operation: + (mismatched types int and string)"),
    ("none.x", "cannot fetch x from <nil> (1:6)"),
    ("arr[10]", "index out of range: 10 (array length is 4)"),
    ("s.x", "cannot fetch x from string"),
    ("1 % 0", "integer divide by zero"),
    ("1.5 % 2", "invalid operation: %"),
    ("nope()", "unknown func nope"),
    ("1 and true", "invalid operation: and"),
    ("not 1", "invalid operation: not int"),
    ("n ? 1 : 2", "non-bool expression (type int) used as condition"),
    ("int('x')", 'strconv.Atoi: parsing "x": invalid syntax'),
    ("all(arr, # + 1)", "predicate of all must return bool"),
    ("len(1)", "invalid argument for len (type int)"),
    ("duration('soon')", 'time: invalid duration "soon"'),
    ("date('not a date')", "cannot parse"),
    ("5 in 5", "operator in not defined on int"),
    ("s matches '('", "error parsing regexp"),
    ("abs()", "invalid number of arguments to abs"),
    ("1..10000000", "range over 1000000 elements"),
    ("repeat('x', 10000000)", "repeat result over"),
]


@pytest.mark.parametrize(("src", "message"), RUNTIME_ERRORS)
def test_runtime_errors(src: str, message: str) -> None:
    with pytest.raises(ExprError) as err:
        evaluate(src, ENV)
    assert message in str(err.value)
    assert err.value.column is not None


def test_error_snippet_points_at_the_column() -> None:
    with pytest.raises(ExprError) as err:
        evaluate("app.metadata.name +\n  nil.y", ENV)
    text = str(err.value)
    assert text.splitlines() == [
        "cannot fetch y from <nil> (2:7)",
        " |   nil.y",
        " | ......^",
    ]
    assert (err.value.line, err.value.column) == (2, 7)


def test_caller_function_errors_are_expr_errors() -> None:
    def boom(x: Any) -> Any:
        raise ValueError("no such warehouse: " + x)

    with pytest.raises(ExprError, match=r"no such warehouse: w \(1:1\)"):
        evaluate("warehouse('w')", funcs={"warehouse": boom})
