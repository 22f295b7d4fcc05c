"""``ci/plan/overview.py``: the jobs a workflow would run, by stage, without running it."""

from __future__ import annotations

from shipway.ci.plan.overview import overview
from shipway.ci.syntax.github import parse_workflow

WORKFLOW = """\
name: ci
on: [push, pull_request]
jobs:
  deploy:
    needs: [test, lint]
    runs-on: ubuntu-latest
    environment: prod
    steps: [{run: echo deploy}]
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Ruff
        run: ruff check
  test:
    needs: lint
    runs-on: [self-hosted, linux]
    strategy:
      matrix:
        py: ["3.11", "3.12"]
        os: [a, b]
        exclude: [{py: "3.11", os: b}]
    services: {db: {image: postgres}}
    steps: [{run: pytest}]
  dynamic:
    needs: lint
    runs-on: x
    strategy:
      matrix: ${{ fromJSON(needs.lint.outputs.m) }}
    steps: [{run: "true"}]
  call:
    uses: ./.github/workflows/called.yml
"""


def test_jobs_by_stage_with_matrices() -> None:
    view = overview(parse_workflow(WORKFLOW, "ci.yml"))
    assert view["events"] == ["pull_request", "push"]
    got = [(j["id"], j["stage"]) for j in view["jobs"]]
    assert got == [("call", 0), ("lint", 0), ("dynamic", 1), ("test", 1), ("deploy", 2)]
    jobs = {j["id"]: j for j in view["jobs"]}
    assert jobs["lint"]["steps"] == ["Run actions/checkout@v4", "Ruff"]
    assert jobs["test"]["combinations"] == [
        {"py": "3.11", "os": "a"},
        {"py": "3.12", "os": "a"},
        {"py": "3.12", "os": "b"},
    ]
    assert jobs["test"]["services"] == ["db"]
    assert jobs["dynamic"]["combinations"] is None
    assert jobs["dynamic"]["matrix"] == "computed when the job starts"
    assert jobs["deploy"]["needs"] == ["test", "lint"]
    assert jobs["call"]["uses"] == "./.github/workflows/called.yml"
    assert jobs["lint"]["combinations"] is None and "matrix" not in jobs["lint"]
