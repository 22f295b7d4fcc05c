"""Differential test: the documented-behaviour table and generated templates, run on real Go.

Skipped when ``go`` is not installed (``apt-get install golang-go`` brings it).
Go's own text/template is the reference: for each case both must agree on
success or failure, and on the output when they succeed. The expected value
in the table is checked against Go too, so the table itself is kept honest.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tpl_gocases import CASES, GO122, MISSINGKEY_ERROR

from shipway.templates.gotemplate import TemplateError, render

GO = shutil.which("go")
pytestmark = pytest.mark.skipif(GO is None, reason="go is not installed")
HARNESS = Path(__file__).with_name("go_harness.go.txt")


def _go_version() -> tuple[int, int]:
    assert GO is not None
    out = subprocess.run([GO, "version"], capture_output=True, text=True, check=True).stdout
    ver = out.split()[2].removeprefix("go").split(".")
    return int(ver[0]), int(ver[1])


@pytest.fixture(scope="module")
def go_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert GO is not None
    d = tmp_path_factory.mktemp("goharness")
    (d / "main.go").write_text(HARNESS.read_text())
    env = {**os.environ, "GO111MODULE": "off", "GOCACHE": str(d / "cache"), "GOPATH": str(d)}
    exe = d / "harness"
    subprocess.run([GO, "build", "-o", str(exe), str(d / "main.go")], env=env, check=True,
                   capture_output=True, timeout=240)  # fmt: skip

    def run(cases: list[dict[str, Any]]) -> list[dict[str, str]]:
        proc = subprocess.run([str(exe)], input=json.dumps(cases), capture_output=True,
                              text=True, check=True, timeout=120)  # fmt: skip
        return json.loads(proc.stdout)  # type: ignore[no-any-return]

    return run


def _mine(text: str, data: Any, missingkey: str = "default") -> tuple[str | None, str]:
    try:
        return render(text, data, name="t", missingkey=missingkey), ""
    except TemplateError as e:
        return None, str(e)


def _compare(go_run: Any, cases: list[tuple[str, Any, str]]) -> list[str]:
    results = go_run([{"text": t, "data": d, "missingkey": mk} for t, d, mk in cases])
    problems = []
    for (text, data, mk), go in zip(cases, results, strict=True):
        mine, my_err = _mine(text, data, mk)
        if go["err"]:
            if mine is not None and "incompatible types for comparison" in go["err"]:
                continue  # deliberate: shipway compares ints with floats (see funcs_builtin)
            if mine is not None:
                problems.append(f"{text!r}: Go failed ({go['err']}) but shipway gave {mine!r}")
        elif mine != go["out"]:
            problems.append(f"{text!r}: Go gave {go['out']!r}, shipway {mine!r} {my_err}")
    return problems


def test_table_agrees_with_go(go_run: Any) -> None:
    skip = GO122 if _go_version() < (1, 22) else frozenset()
    rows = [(t, d, e) for t, d, e in CASES if t not in skip]
    results = go_run([{"text": t, "data": d, "missingkey": ""} for t, d, _ in rows])
    wrong = []
    for (text, _, expected), go in zip(rows, results, strict=True):
        go_value = None if go["err"] else go["out"]
        if go_value != expected:
            wrong.append(f"{text!r}: table says {expected!r}, Go says {go_value!r} {go['err']}")
    assert not wrong, "\n".join(wrong)
    problems = _compare(go_run, [(t, d, "default") for t, d, _ in rows])
    assert not problems, "\n".join(problems)


def test_missingkey_error_agrees_with_go(go_run: Any) -> None:
    problems = _compare(go_run, [(t, d, "error") for t, d, _ in MISSINGKEY_ERROR])
    assert not problems, "\n".join(problems)


def test_error_messages_match_go_for_parse_errors(go_run: Any) -> None:
    texts = ["{{end}}", "{{if .t}}", "{{$x}}", "{{nofunc 1}}", "{{}}", "{{break}}", "{{ . } }}",
             "{{ 1a }}", "{{ (1 }}", '{{ "x }}']  # fmt: skip
    results = go_run([{"text": t, "data": {}, "missingkey": ""} for t in texts])
    for text, go in zip(texts, results, strict=True):
        _, mine = _mine(text, {})
        # shipway adds the column: "template: t:1:2: ..." where Go has "template: t:1: ..."
        go_reason = go["err"].split(": ", 2)[-1]
        assert mine.endswith(go_reason), f"{text!r}: Go {go['err']!r}, shipway {mine!r}"


_ATOMS = ['.s', '.n', '.f', '.l', '.m', '.nil', '.missing', '.t', '.z', '.el', '1', '2.5', '"x"',
          'true', '.nested.x', '.items', '$', '.']  # fmt: skip
_FUNCS = ["len", "not", "print", "println", "html", "js", "urlquery", "index", "eq", "ne", "lt",
          "and", "or", "printf \"%v|%d|%s\"", "slice"]  # fmt: skip


def _random_template(rng: random.Random) -> str:
    def expr(depth: int) -> str:
        r = rng.random()
        if depth > 2 or r < 0.4:
            return rng.choice(_ATOMS)
        if r < 0.8:
            args = " ".join(expr(depth + 1) for _ in range(rng.randint(1, 3)))
            return f"({rng.choice(_FUNCS)} {args})"
        return f"({expr(depth + 1)} | {rng.choice(_FUNCS)})"

    parts = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        e = expr(0)
        if r < 0.5:
            parts.append("{{" + e + "}}")
        elif r < 0.7:
            parts.append("{{if " + e + "}}Y{{else}}N{{end}}")
        elif r < 0.85:
            parts.append("{{range $i, $v := " + e + "}}{{$i}}={{$v}};{{else}}E{{end}}")
        else:
            parts.append("{{with " + e + "}}<{{.}}>{{end}}")
    return " ".join(parts)


def test_generated_templates_agree_with_go(go_run: Any) -> None:
    from tpl_gocases import D

    rng = random.Random(20240601)
    texts = [_random_template(rng) for _ in range(1500)]
    problems = _compare(go_run, [(t, D, "default") for t in texts])
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems[:30])
