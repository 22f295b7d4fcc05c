"""GitLab pipelines compiled into the neutral plan, and the scheduler's decisions with
GitLab's rules (docs.gitlab.com/ci/yaml: ``when``, ``allow_failure``, ``needs``)."""

from __future__ import annotations

import textwrap

from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.neutral import gitlab, scheduler
from shipway.ci.neutral.evaluator import for_syntax
from shipway.ci.neutral.model import Condition, Plan, to_data


def _plan(text: str, **variables: str) -> Plan:
    texts = {".gitlab-ci.yml": textwrap.dedent(text)}
    pipe = parse_pipeline(".gitlab-ci.yml", texts.get, list(texts))
    planned = plan_pipeline(pipe, Context(Facts(sha="a" * 40, ref="main"), variables=variables))
    return gitlab.compile_pipeline(pipe, planned)


def _run(plan: Plan, fail: set[str] = frozenset(), cancel_after: str = "") -> dict[str, str]:  # type: ignore[assignment]
    """Drive the scheduler as the runner does: one job at a time, in run order."""
    state = scheduler.State.new(plan)
    rules = gitlab.GitLabRules()
    while True:
        found = scheduler.decide(plan, state, rules)
        if not found:
            break
        v = found[0]
        if v.action == "run":
            failed = v.node in fail
            allowed = failed and plan.nodes[v.node].allow_failure
            state.finish(v.node, scheduler.FAILURE if failed else scheduler.SUCCESS,
                         allowed=allowed)  # fmt: skip
            if v.node == cancel_after:
                state.cancelled = True
        else:
            scheduler.apply(state, v)
    return {n: s.status for n, s in state.nodes.items()}


STAGES = """\
stages: [build, test, deploy]
build: {stage: build, script: [make]}
unit: {stage: test, script: [make test]}
lint: {stage: test, script: [make lint], allow_failure: true}
cleanup: {stage: deploy, script: [rm -rf x], when: always}
rollback: {stage: deploy, script: [undo], when: on_failure}
deploy: {stage: deploy, script: [ship]}
"""


def test_jobs_without_needs_wait_for_every_job_of_the_earlier_stages() -> None:
    plan = _plan(STAGES)
    assert plan.nodes["unit"].parents == ["build"]
    assert plan.nodes["deploy"].parents == ["build", "unit", "lint"]
    assert [e.kind for e in plan.nodes["deploy"].edges] == ["stage"] * 3
    assert plan.order()[:3] == ["build", "unit", "lint"]
    assert plan.nodes["build"].where == ".gitlab-ci.yml:2:1"


def test_a_failure_skips_on_success_jobs_and_runs_on_failure_and_always_ones() -> None:
    got = _run(_plan(STAGES), fail={"unit"})
    assert got == {"build": "success", "unit": "failure", "lint": "success",
                   "cleanup": "success", "rollback": "success", "deploy": "skipped"}  # fmt: skip


def test_an_allowed_failure_lets_the_pipeline_go_on_and_is_no_failure_for_on_failure() -> None:
    got = _run(_plan(STAGES), fail={"lint"})
    assert got["deploy"] == "success" and got["cleanup"] == "success"
    assert got["rollback"] == "skipped"  # nothing failed that counts


def test_the_skip_reasons_are_given() -> None:
    plan = _plan(STAGES)
    state = scheduler.State.new(plan)
    for n in ("build", "unit", "lint"):
        state.finish(n, scheduler.FAILURE if n == "unit" else scheduler.SUCCESS)
    verdicts = {v.node: v for v in scheduler.decide(plan, state, gitlab.GitLabRules())}
    assert verdicts["deploy"] == scheduler.Verdict("deploy", "skip", gitlab.AFTER_FAILURE)
    assert verdicts["rollback"].action == "run" and verdicts["cleanup"].action == "run"
    state = scheduler.State.new(plan)
    for n in ("build", "unit", "lint"):
        state.finish(n, scheduler.SUCCESS)
    verdicts = {v.node: v for v in scheduler.decide(plan, state, gitlab.GitLabRules())}
    assert verdicts["rollback"] == scheduler.Verdict("rollback", "skip", gitlab.NOTHING_FAILED)


MANUAL = """\
stages: [build, deploy, verify]
build: {stage: build, script: [make]}
approve: {stage: deploy, script: [ok], when: manual}
gate: {stage: deploy, script: [ok], when: manual, allow_failure: false}
verify: {stage: verify, script: [check]}
"""


def test_manual_jobs_are_not_started_and_a_blocking_one_holds_later_stages() -> None:
    got = _run(_plan(MANUAL))
    assert got["approve"] == "manual" and got["gate"] == "manual"
    assert got["verify"] == "skipped"  # the blocking manual job holds it
    without_gate = _run(_plan(MANUAL.replace("gate:", ".gate:")))
    assert without_gate["verify"] == "success"  # allow_failure: true manual jobs do not block


def test_manual_jobs_run_when_asked_for() -> None:
    plan = _plan(MANUAL)
    state = scheduler.State.new(plan)
    state.finish("build", scheduler.SUCCESS)
    verdicts = scheduler.decide(plan, state, gitlab.GitLabRules(run_manual=True))
    assert [(v.node, v.action) for v in verdicts] == [("approve", "run"), ("gate", "run")]


NEEDS = """\
stages: [build, test, deploy]
build: {stage: build, script: [make], rules: [{if: $BUILD}]}
docs: {stage: build, script: [make docs]}
test: {stage: test, script: [t], needs: [{job: build, optional: true}]}
early: {stage: deploy, script: [e], needs: []}
ship: {stage: deploy, script: [s], needs: [{job: docs, artifacts: false}]}
"""


def test_needs_make_a_dag_and_optional_needs_on_jobs_not_added_are_dropped() -> None:
    plan = _plan(NEEDS)
    assert "build" not in plan.nodes and plan.nodes["test"].parents == []
    assert plan.nodes["early"].parents == []
    ship = plan.nodes["ship"].edges
    assert [(e.source, e.kind, e.artifacts) for e in ship] == [("docs", "needs", False)]
    with_build = _plan(NEEDS, BUILD="1")
    assert [(e.source, e.optional) for e in with_build.nodes["test"].edges] == [("build", True)]
    assert with_build.nodes["build"].condition == Condition(
        "gitlab", "$BUILD", ".gitlab-ci.yml:2:1"
    )
    # a job with needs: [] starts with the first stage's jobs
    state = scheduler.State.new(plan)
    ready = [v.node for v in scheduler.decide(plan, state, gitlab.GitLabRules())]
    assert ready == ["docs", "test", "early"]


def test_a_canceled_pipeline_cancels_what_did_not_start() -> None:
    got = _run(_plan(STAGES), cancel_after="build")
    assert got["build"] == "success"
    assert {got[n] for n in ("unit", "lint", "deploy", "cleanup")} == {"cancelled"}


def test_the_state_round_trips_and_a_running_job_runs_again() -> None:
    plan = _plan(STAGES)
    state = scheduler.State.new(plan)
    state.finish("build", scheduler.SUCCESS, {"V": "1"}, record={"name": "build"})
    state.start("unit")
    again = scheduler.State.from_data(plan, state.to_data())
    assert again.nodes["build"].status == "success" and again.nodes["build"].results == {"V": "1"}
    assert again.nodes["build"].data["record"] == {"name": "build"}
    assert again.nodes["unit"].status == "pending"
    assert [v.node for v in scheduler.decide(plan, again, gitlab.GitLabRules())] == ["unit", "lint"]


def test_the_evaluator_reads_gitlab_variables_and_rules_expressions() -> None:
    ev = for_syntax("gitlab")
    assert ev.render("img:$TAG-${SUFFIX}", {"TAG": "1", "SUFFIX": "x"}) == "img:1-x"
    cond = Condition("gitlab", '$CI_COMMIT_BRANCH == "main" && $DEPLOY =~ /^y/')
    assert ev.holds(cond, {"CI_COMMIT_BRANCH": "main", "DEPLOY": "yes"})
    assert not ev.holds(cond, {"CI_COMMIT_BRANCH": "dev", "DEPLOY": "yes"})


def test_the_plan_as_data() -> None:
    data = to_data(_plan(NEEDS))
    assert data["syntax"] == "gitlab" and data["stages"][1:4] == ["build", "test", "deploy"]
    ship = next(n for n in data["nodes"] if n["id"] == "ship")
    assert ship["needs"] == [{"node": "docs", "kind": "needs", "artifacts": False}]
    assert ship["steps"] == [{"name": "script", "where": ".gitlab-ci.yml:6:1", "run": "s"}]


def test_a_manual_job_after_a_failure_is_skipped_not_offered() -> None:
    text = """\
    stages: [test, deploy]
    unit: {stage: test, script: [t]}
    deploy: {stage: deploy, script: [ship], when: manual}
    """
    assert _run(_plan(text), fail={"unit"})["deploy"] == "skipped"
    assert _run(_plan(text))["deploy"] == "manual"
