"""Workflow parsing: YAML 1.2, the plan model, and errors with file:line:column."""

from __future__ import annotations

import pytest

from shipway.ci.syntax.github import parse_workflow
from shipway.model.errors import InputError

GOOD = """\
name: CI
on:
  push: {branches: [main]}
env: {A: yes}
jobs:
  build:
    runs-on: ubuntu-latest
    outputs: {v: "${{ steps.s.outputs.v }}"}
    steps:
      - uses: actions/checkout@v4
      - id: s
        run: echo v=1 >> "$GITHUB_OUTPUT"
  test:
    needs: build
    runs-on: [self-hosted]
    strategy: {matrix: {py: ["3.11", "3.12"]}}
    steps:
      - run: echo ${{ matrix.py }} ${{ needs.build.outputs.v }}
"""


def test_parses_into_plan() -> None:
    wf = parse_workflow(GOOD, "ci.yml")
    assert wf.on == {"push": {"branches": ["main"]}}
    assert wf.env == {"A": "yes"}  # YAML 1.2: yes is a string
    assert list(wf.jobs) == ["build", "test"]
    assert wf.jobs["test"].needs == ["build"]
    assert wf.jobs["build"].steps[1].id == "s"
    assert wf.jobs["test"].strategy is not None


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n",
            "w.yml:5:5",
            "unknown key 'stepz'",
        ),
        ("on: push\njobs:\n  a:\n    steps:\n      - run: x\n", "w.yml:3:3", "no 'runs-on'"),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: [1]\n"
            "    steps: [{run: x}]\n",
            "w.yml:5:5",
            "'timeout-minutes' must be",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    needs: b\n    steps: [{run: x}]\n"
            "  b:\n    runs-on: x\n    needs: a\n    steps: [{run: x}]\n",
            "w.yml:9:5",  # where the cycle closes: b needs a
            "cycle in 'needs': a -> b -> a",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ 1 + }}\n",
            "w.yml:6:9",
            "bad expression",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ foo.bar }}\n",
            "w.yml:6:9",
            "Unrecognized named-value: 'foo'",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: x\n        uses: y\n",
            "w.yml:7:9",  # at the second of the two, as actionlint points
            "exactly one of 'run' or 'uses'",
        ),
        (
            "on: pushh\njobs:\n  a:\n    runs-on: x\n    steps: [{run: x}]\n",
            "w.yml:1:1",
            "unknown event",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    needs: [zz]\n    steps: [{run: x}]\n",
            "w.yml:5:5",
            "unknown job 'zz'",
        ),
        (
            "on: push\njobs: {a: {runs-on: x, steps: [{run: x, if: '${{ a ==}}'}]}}\n",
            "w.yml:2:",
            "bad expression",
        ),
        ("on: [push\n", "w.yml:", "invalid YAML"),
        (
            "on: push\nenv: {A: '${{ matrix.x }}'}\njobs: {a: {runs-on: x, steps: [{run: x}]}}\n",
            "w.yml:2:7",
            "context 'matrix' is not available here",
        ),
        (
            "on: push\njobs:\n  a:\n    if: steps.x.outcome\n    runs-on: x\n"
            "    steps: [{run: x}]\n",
            "w.yml:4:5",
            "context 'steps' is not available here",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: x, if: secrets.A}]\n",
            "w.yml:5:",
            "context 'secrets' is not available here",
        ),
        (
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: '${{ jobs.a }}'}]\n",
            "w.yml:5:14",
            "context 'jobs' is not available here",
        ),
    ],
)
def test_errors_have_positions(text: str, where: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_workflow(text, "w.yml")
    lines = str(info.value).splitlines()  # every problem, one a line, in file order
    assert any(line.startswith(where) and message in line for line in lines), str(info.value)


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = (
        "on: push\njobs:\n  b:\n    runs-on: x\n    steps: [{run: '${{ nope.x }}'}]\n"
        "  a:\n    runs-on: x\n    needs: zz\n    stepz: []\n"
    )
    with pytest.raises(InputError) as info:
        parse_workflow(text, "w.yml")
    lines = str(info.value).splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == sorted(
        (line.split(": ", 1)[0] for line in lines), key=lambda w: [int(p) for p in w.split(":")[1:]]
    )
    assert len(lines) >= 3 and "Unrecognized named-value: 'nope'" in lines[0]
    assert any("unknown key 'stepz'" in line for line in lines)
    assert any("unknown job 'zz'" in line for line in lines)
