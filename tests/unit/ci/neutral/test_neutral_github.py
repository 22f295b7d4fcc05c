"""GitHub Actions workflows compiled into the neutral plan, and the scheduler's decisions
with GitHub's rules (docs.github.com: jobs.<id>.needs — "if a job fails or is skipped,
all jobs that need it are skipped unless the jobs use a conditional expression that
causes the job to continue"; status check functions)."""

from __future__ import annotations

import textwrap
from typing import Any

from shipway.ci.neutral import github, scheduler
from shipway.ci.neutral.evaluator import for_syntax
from shipway.ci.neutral.model import Condition, Plan, to_data
from shipway.ci.syntax.github import parse_workflow

WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy: {matrix: {py: ["3.11", "3.12"]}}
    outputs: {v: "${{ steps.s.outputs.v }}"}
    steps:
      - id: s
        run: echo v=1 >> "$GITHUB_OUTPUT"
  test:
    needs: build
    runs-on: ubuntu-latest
    steps: [{run: make test, continue-on-error: true}]
  deploy:
    needs: test
    if: github.ref == 'refs/heads/main'
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps: [{run: make deploy}]
  report:
    needs: deploy
    if: always()
    runs-on: ubuntu-latest
    steps: [{run: report}]
  rollback:
    needs: deploy
    if: failure()
    runs-on: ubuntu-latest
    steps: [{run: undo}]
  fan:
    runs-on: ubuntu-latest
    strategy: {matrix: {x: "${{ fromJSON(needs.build.outputs.v) }}"}}
    steps: [{run: "true"}]
"""


def _plan() -> Plan:
    return github.compile_workflow(parse_workflow(textwrap.dedent(WORKFLOW), "ci.yml"))


def _run(plan: Plan, rules: github.GitHubRules, fail: set[str] = frozenset()  # type: ignore[assignment]
         ) -> dict[str, tuple[str, str]]:  # fmt: skip
    state = scheduler.State.new(plan)
    while not scheduler.finished(plan, state):
        runs = [v.node for v in scheduler.settle(plan, state, rules) if v.action == "run"]
        if not runs:
            break
        for n in runs:
            state.finish(n, scheduler.FAILURE if n in fail else scheduler.SUCCESS)
    return {n: (s.status, s.reason) for n, s in state.nodes.items()}


def test_jobs_become_nodes_with_needs_conditions_matrices_and_where() -> None:
    plan = _plan()
    assert plan.syntax == "github" and plan.order()[:3] == ["build", "test", "deploy"]
    build = plan.nodes["build"]
    assert build.matrix == [{"py": "3.11"}, {"py": "3.12"}]
    assert build.outputs == {"v": "${{ steps.s.outputs.v }}"} and build.results == ["v"]
    assert build.where == "ci.yml:3:3" and build.steps[0].where.startswith("ci.yml:8:")
    assert plan.nodes["fan"].matrix == {"x": "${{ fromJSON(needs.build.outputs.v) }}"}
    deploy = plan.nodes["deploy"]
    assert deploy.condition is not None and deploy.condition.evaluator == "github"
    assert deploy.condition.expr == "github.ref == 'refs/heads/main'"
    assert deploy.timeout == 300 and [e.source for e in deploy.edges] == ["test"]
    assert plan.nodes["test"].steps[0].on_error == "continue"
    assert to_data(plan)["nodes"][0]["id"] == "build"


def test_a_failed_need_skips_its_dependents_unless_their_if_says_otherwise() -> None:
    got = _run(_plan(), github.GitHubRules(), fail={"build"})
    assert got["test"] == ("skipped", github.NEEDS_FAILED)
    assert got["deploy"] == ("skipped", github.NEEDS_FAILED)  # up the chain
    assert got["report"][0] == "success"  # always()
    assert got["rollback"][0] == "success"  # failure(): an ancestor failed


def test_without_contexts_the_rest_of_an_if_is_left_to_the_engine() -> None:
    got = _run(_plan(), github.GitHubRules())
    assert got["deploy"][0] == "success"  # the engine evaluates github.ref itself
    assert got["rollback"][0] == "success"  # likewise failure(): the engine says false


def test_with_contexts_the_whole_if_is_decided() -> None:
    rules = github.GitHubRules({"github": {"ref": "refs/heads/dev"}})
    got = _run(_plan(), rules)
    assert got["deploy"] == ("skipped", github.IF_FALSE)
    assert got["report"][0] == "success"  # always() after a skipped need
    assert got["rollback"] == ("skipped", github.IF_FALSE)  # nothing failed
    on_main = _run(_plan(), github.GitHubRules({"github": {"ref": "refs/heads/main"}}))
    assert on_main["deploy"][0] == "success" and on_main["rollback"][1] == github.IF_FALSE


def test_a_cancelled_run_cancels_jobs_without_an_if() -> None:
    plan = _plan()
    state = scheduler.State.new(plan)
    state.finish("build", scheduler.SUCCESS)
    state.cancelled = True
    verdicts = {v.node: v.action for v in scheduler.decide(plan, state, github.GitHubRules())}
    assert verdicts == {"fan": "cancel", "test": "cancel"}


def test_status_functions_look_up_the_whole_needs_chain() -> None:
    plan = _plan()
    state = scheduler.State.new(plan)
    state.finish("build", scheduler.FAILURE)
    state.finish("test", scheduler.SKIPPED)
    state.finish("deploy", scheduler.SKIPPED)
    status = github.status_function(plan, state, plan.nodes["report"])
    assert status("failure") and status("always") and not status("success")


def test_the_evaluator_renders_expressions_and_reads_if_conditions() -> None:
    ev = for_syntax("github")
    values: dict[str, Any] = {"github": {"ref": "refs/heads/main"}, "matrix": {"py": "3.12"}}
    assert ev.render("py${{ matrix.py }}", values) == "py3.12"
    assert ev.holds(Condition("github", "${{ github.ref == 'refs/heads/main' }}"), values)
    assert not ev.holds(Condition("github", "startsWith(github.ref, 'refs/tags/')"), values)


def test_the_plan_params_are_the_workflow_inputs() -> None:
    text = """\
    on:
      workflow_dispatch:
        inputs: {level: {default: info}}
      workflow_call:
      push:
    jobs:
      a: {runs-on: x, steps: [{run: "true"}]}
    """
    plan = github.compile_workflow(parse_workflow(textwrap.dedent(text), "w.yml"))
    assert plan.params == {"level": {"default": "info"}}


def test_ifs_of_mixed_text_are_left_to_the_engine() -> None:
    text = """\
    on: push
    jobs:
      a: {runs-on: x, steps: [{run: "true"}]}
      text: {needs: a, if: "ref ${{ github.ref }}", runs-on: x, steps: [{run: "true"}]}
      plain: {needs: a, if: "${{ github.ref != '' }}", runs-on: x, steps: [{run: "true"}]}
    """
    wf = parse_workflow(textwrap.dedent(text), "w.yml")
    plan = github.compile_workflow(wf)
    state = scheduler.State.new(plan)
    state.finish("a", scheduler.FAILURE)
    got = {v.node: v.action for v in scheduler.decide(plan, state, github.GitHubRules())}
    # mixed text is a string (truthy, no implicit success()), as GitHub reads it: the engine
    # decides it; a plain expression means success() && (...)
    assert got == {"text": "run", "plain": "skip"}
