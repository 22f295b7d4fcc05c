"""Reusable workflows: the 50-distinct-workflows limit and the called workflow's concurrency.

A top-level run may call at most 50 distinct reusable workflows, nested calls
included (calling one workflow many times counts once). A called workflow's
workflow-level ``concurrency`` group is held around its jobs (two calls in
one run take turns) and is evaluated with the caller's ``github`` context; a
group the run already holds around the call is a deadlock GitHub cancels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Runner = Callable[..., tuple[dict[str, Any], list[str]]]

SKIPPED_LEAF = (
    "on: workflow_call\njobs:\n  j:\n    if: false\n    runs-on: x\n    steps: [{run: 'true'}]\n"
)


def _calls(targets: list[str], trigger: str = "workflow_call") -> str:
    jobs = "".join(
        f"  c{i}:\n    uses: ./.github/workflows/{t}.yml\n" for i, t in enumerate(targets)
    )
    return f"on: {trigger}\njobs:\n{jobs}"


def _leaves(n: int) -> dict[str, str]:
    return {f".github/workflows/w{i}.yml": SKIPPED_LEAF for i in range(n)}


def test_fifty_distinct_called_workflows_are_allowed(run_wf: Runner) -> None:
    rec, lines = run_wf(_calls([f"w{i}" for i in range(50)], "push"), _leaves(50))
    assert rec["conclusion"] == "success", "\n".join(lines)
    rec, lines = run_wf(_calls(["w0"] * 60, "push"), _leaves(1))  # one distinct workflow
    assert rec["conclusion"] == "success", "\n".join(lines)


def test_the_fifty_first_distinct_called_workflow_fails_naming_the_chain(run_wf: Runner) -> None:
    files = {**_leaves(50), ".github/workflows/hub.yml": _calls([f"w{i}" for i in range(50)])}
    rec, lines = run_wf(_calls(["hub"], "push"), files)
    assert rec["conclusion"] == "failure"
    pattern = re.compile(
        r"too many reusable workflows: ci\.yml -> \.github/workflows/hub\.yml -> "
        r"\.github/workflows/w\d+\.yml would be distinct called workflow number 51 of this "
        r"run; a run may call at most 50 \(github\.com; 20 on GitHub Enterprise Server\)"
    )
    assert len([ln for ln in lines if pattern.search(ln)]) == 1, "\n".join(lines)
    failed = [j for j in rec["jobs"] if j["result"] == "failure" and "caller" in j]
    assert len(failed) == 1 and failed[0]["name"].startswith("c0 / c")


DEPLOY = """\
on:
  workflow_call:
    inputs:
      target: {type: string, required: true}
concurrency: deploy-${{ inputs.target }}
jobs:
  d:
    runs-on: x
    steps:
      - run: echo "${{ inputs.target }}-start"; sleep 0.4; echo "${{ inputs.target }}-end"
"""


def test_called_workflow_group_is_held_around_its_jobs(run_wf: Runner) -> None:
    rec, lines = run_wf(
        """\
        on: push
        jobs:
          one:
            uses: ./.github/workflows/deploy.yml
            with: {target: prod}
          two:
            uses: ./.github/workflows/deploy.yml
            with: {target: prod}
        """,
        {".github/workflows/deploy.yml": DEPLOY},
    )
    assert rec["conclusion"] == "success", "\n".join(lines)
    order = [ln.split()[-1] for ln in lines if re.search(r"\] prod-(start|end)$", ln)]
    assert order == ["prod-start", "prod-end", "prod-start", "prod-end"], "\n".join(lines)
    starts = [ln.split("]")[0] for ln in lines if ln.endswith("prod-start")]
    assert {s.split(" / ")[0] for s in starts} == {"[one", "[two"}


SAME_NAME = """\
on: workflow_call
concurrency: ${{ github.workflow }}
jobs:
  j:
    runs-on: x
    steps: [{run: echo called-ran}]
"""


def test_a_group_the_caller_holds_is_a_deadlock_and_cancels_the_call(run_wf: Runner) -> None:
    rec, lines = run_wf(
        """\
        name: release
        on: push
        concurrency: ${{ github.workflow }}
        jobs:
          call:
            uses: ./.github/workflows/called.yml
          other:
            runs-on: x
            steps: [{run: echo other-ran}]
        """,
        {".github/workflows/called.yml": SAME_NAME},
    )
    text = "\n".join(lines)
    assert rec["conclusion"] == "cancelled", text
    assert ("[call] Canceling since a deadlock for concurrency group 'test/repo/release' was "
            "detected between 'ci.yml' and '.github/workflows/called.yml'") in text  # fmt: skip
    assert "called-ran" not in text and "other-ran" in text
    jobs = {j["id"]: j["result"] for j in rec["jobs"]}
    assert jobs == {"call": "cancelled", "other": "success"}


def test_the_calling_jobs_own_group_also_deadlocks(run_wf: Runner) -> None:
    rec, lines = run_wf(
        """\
        on: push
        jobs:
          call:
            concurrency: deploy-prod
            uses: ./.github/workflows/deploy.yml
            with: {target: prod}
          fine:
            concurrency: deploy-stage
            uses: ./.github/workflows/deploy.yml
            with: {target: prod}
        """,
        {".github/workflows/deploy.yml": DEPLOY},
    )
    text = "\n".join(lines)
    assert "[call] Canceling since a deadlock for concurrency group 'test/repo/deploy-prod'" in text
    jobs = {j["name"].split(" / ")[0]: j["result"] for j in rec["jobs"]}
    assert jobs == {"call": "cancelled", "fine": "success"}, text
