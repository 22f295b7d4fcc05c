"""Differential test: shipway's expression engine against GitHub's (npm @actions/expressions).

Thousands of generated expressions over one context are evaluated by both;
every value (with JavaScript's number formatting) must agree, and every error
in its stage (lexing, parsing, evaluation) and message.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.expr.evaluate import Scope, eval_text
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.values import js_number

ORACLE = Path(__file__).with_name("expr_oracle.mjs")
ROOT = Path(__file__).resolve().parents[3]

CONTEXT: dict[str, Any] = {
    "github": {
        "event_name": "push",
        "ref": "refs/heads/Main",
        "event": {
            "commits": [
                {"id": "a1", "message": "Fix", "author": {"name": "Ann"}},
                {"id": "b2", "message": "feat: X", "author": {"name": "bob"}},
            ],
            "number": 42,
            "draft": False,
        },
    },
    "env": {"MODE": "Release", "EMPTY": "", "NUM": "12", "HEX": "0x1F", "SPACE": " 7 "},
    "matrix": {"os": "ubuntu-latest", "py": 3.11, "flags": ["a", "B"], "n": 0},
    "needs": {"build": {"result": "success", "outputs": {"v": "1.2"}},
              "test": {"result": "failure", "outputs": {}}},
    "vars": {"Registry": "ghcr.io", "ZERO": "0"},
}  # fmt: skip

STRINGS = ["''", "'abc'", "'ABC'", "'0x10'", "' 12 '", "'1e3'", "'-5'", "'true'", "'null'",
           "'Main'", "'it''s'", "'{0}-{1}'", "'{{0}}'", "'[1,2]'", "'{\"a\":1}'", "'.5'",
           "'Infinity'", "'12abc'", "'ubuntu'", "'success'", "'0'", "'1.0'"]  # fmt: skip
NUMBERS = ["0", "1", "-1", "2.5", "0x10", "0xff", "1e3", "1.5e-7", "-0", "100000000000000000000000",
           "0.1", "3.11", "9007199254740993", "1e21", "0.000001", "123456789.125"]  # fmt: skip
PATHS = ["github.event_name", "github.REF", "github.event.commits[0].message",
         "github.event.commits.*.author.name", "github.event.commits.*.id", "github.event.number",
         "github.event['draft']", "env.MODE", "env.EMPTY", "env.NUM", "env.HEX", "env.SPACE",
         "env.missing", "matrix.py", "matrix.flags", "matrix.flags[1]", "matrix.n", "matrix.*",
         "needs.*.result", "needs.build.outputs.v", "needs['test'].outputs", "vars.registry",
         "vars.ZERO", "github.event.commits", "github.event", "matrix.flags[5]",
         "github.event.commits[1]['author']", "needs.*.outputs.v", "github.event.*"]  # fmt: skip
JSON_SOURCES = ["'[1, \"a\", null, true]'", "'{\"k\": {\"n\": 1.5}}'", "'12'", "'\"s\"'",
                "'1e400'", "'nope'", "'[]'", "'-0'", "toJSON(matrix)"]  # fmt: skip
BINARY = ["==", "!=", "<", "<=", ">", ">=", "&&", "||"]


def gen(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if depth <= 0 or r < 0.3:
        choice = rng.random()
        if choice < 0.3:
            return rng.choice(STRINGS)
        if choice < 0.55:
            return rng.choice(NUMBERS)
        if choice < 0.65:
            return rng.choice(["true", "false", "null"])
        return rng.choice(PATHS)
    if r < 0.55:
        return f"{gen(rng, depth - 1)} {rng.choice(BINARY)} {gen(rng, depth - 1)}"
    if r < 0.62:
        return f"!{gen(rng, depth - 1)}"
    if r < 0.68:
        return f"({gen(rng, depth - 1)})"
    return call(rng, depth)


def call(rng: random.Random, depth: int) -> str:
    name = rng.choice(["contains", "startsWith", "endsWith", "format", "join", "toJSON",
                       "fromJSON", "case", "CONTAINS"])  # fmt: skip
    a = lambda: gen(rng, depth - 1)  # noqa: E731
    if name in ("contains", "startsWith", "endsWith", "CONTAINS"):
        return f"{name}({a()}, {a()})"
    if name == "format":
        fmt = rng.choice(["'{0}'", "'{0}-{1}'", "'x{{y}}{1}'", "'{1}{0}{0}'", "'{'", "'{2}'"])
        return f"format({fmt}, {a()}, {a()})"
    if name == "join":
        return f"join({a()}, {a()})" if rng.random() < 0.6 else f"join({a()})"
    if name == "toJSON":
        return f"toJSON({a()})"
    if name == "fromJSON":
        src = rng.choice(JSON_SOURCES)
        return f"fromJSON({src})"
    parts = [f"{a()}", f"{a()}", f"{a()}", f"{a()}", f"{a()}"]
    return f"case({', '.join(parts[: rng.choice([3, 5])])})"


def encode(v: Any) -> Any:
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return {"$n": js_number(float(v))}
    if isinstance(v, list):
        return [encode(x) for x in v]
    return {"$d": {k: encode(x) for k, x in v.items()}}


def ours(text: str) -> dict[str, Any]:
    scope = Scope(_converted())
    try:
        return {"value": encode(eval_text(text, scope))}
    except ExprError as exc:
        return {"error": exc.message, "stage": exc.stage}


_CONV: dict[str, Any] = {}


def _converted() -> dict[str, Any]:
    if not _CONV:
        from shipway.ci.expr.values import from_json_value

        _CONV.update(from_json_value(CONTEXT))
    return _CONV


def oracle(expressions: list[str]) -> list[dict[str, Any]]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: run scripts/setup.sh")
    if not (ROOT / "node_modules/@actions/expressions").is_dir():
        pytest.fail("npm packages missing: run scripts/setup.sh (npm ci)")
    proc = subprocess.run(
        ["node", str(ORACLE)],
        input=json.dumps({"context": CONTEXT, "expressions": expressions}),
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=True,
    )  # fmt: skip
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def compare(expressions: list[str]) -> list[str]:
    theirs = oracle(expressions)
    problems = []
    for text, want in zip(expressions, theirs, strict=True):
        got = ours(text)
        if got != want:
            problems.append(f"{text!r}: github={want} shipway={got}")
    return problems


HANDPICKED = [
    "1 == 1.0", "'abc' == 'ABC'", "0x10 == 16", "1e2", "-0 == 0", "'' == null", "null == false",
    "'a' < 'B'", "'b' > 'A'", "'10' < '9'", "1 < 'x'", "'x' < 1", "NaN == NaN", "!''", "!'0'",
    "matrix.flags == matrix.flags", "github == github", "fromJSON('[1]') == fromJSON('[1]')",
    "format('{0}', 1.5e-7)", "format('{0}', 1e21)", "format('{0}', 123456789012345678901234)",
    "toJSON(1e21)", "toJSON(0.000001)", "toJSON(fromJSON('{\"a\":[]}'))", "toJSON('\\t')",
    "join(github.event.commits.*.message)", "github.event.commits.*.author", "env.*",
    "contains(matrix.flags, 'b')", "contains('abc', 'B')", "contains(needs.*.result, 'FAILURE')",
    "startsWith(1.5, 1)", "endsWith(true, 'UE')", "startsWith(matrix.flags, 'a')",
    "github['event']['commits'][1.9]", "matrix.flags['0']", "matrix.flags[-1]",
    "matrix.flags[true]",
    "1 ||", "(1", "a.b", "format('{0', 1)", "format('{0}')", "fromJSON('')", "case(1, 2, 3)",
    "case(false, 1, true, 2, 3)", "1 == 1 == true", "!1 == false", "'a' && 'b' || 'c'",
    "0.1 + 0.2", "1.", ".5", "+1", "1..2", "0x", "1e", "00", "07", "0o7", "0b1", "1_000",
    "fromJSON('1e400')", "format('{0}', fromJSON('1e400'))", "'NaN' == 'nan'", "fromJSON(' 1 ')",
    # errors: the stage and GitHub's message must agree too
    "0x01p2", "", "   ", "1 +", "'open", "a ! b", "foo.bar", "nope(1)", "contains(1)",
    "contains(1, 2, 3)", "case(true, 1, false, 2)", "format('{0', 1)", "format('}', 1)",
    "format('{1}', 1)", "fromJSON('x')", "'x'.length", "1[0]", "github.", "github.event[",
    "(" * 50 + "1" + ")" * 50, "(" * 49 + "1" + ")" * 49, "!" * 50 + "true", "!" * 51 + "true",
    "github" + ".a" * 49, "github" + ".a" * 50, "github" + "[0]" * 50, "1 || " * 60 + "1",
    "format(", "join(1,", "(1 == 2", "1 = 2", "1 & 2", "1 | 2", "a-b", "_x", "env.\t",
    "fromJSON('')", "case(1, 2, 3)", "'a' \u00a0 'b'", "env.MODE\v", "github.event.*.x[",
]  # fmt: skip


def test_handpicked_expressions_agree() -> None:
    problems = compare(HANDPICKED)
    assert not problems, "\n".join(problems[:40])


def test_generated_expressions_agree() -> None:
    rng = random.Random(20261125)
    expressions = [gen(rng, rng.choice([1, 2, 3, 4])) for _ in range(4000)]
    problems = compare(expressions)
    assert not problems, f"{len(problems)} of {len(expressions)} differ:\n" + "\n".join(
        problems[:40]
    )
