"""Tekton Pipelines and Tasks compiled into the neutral plan, and the scheduler's decisions
with Tekton's rules (tekton.dev/docs/pipelines/pipelines: runAfter, results, when,
finally; "Guarding a Task and its dependent Tasks")."""

from __future__ import annotations

import textwrap
from typing import Any

from shipway.ci.neutral import scheduler, tekton
from shipway.ci.neutral.evaluator import for_syntax
from shipway.ci.neutral.model import Condition, Plan, to_data
from shipway.ci.tekton.load import load

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: echo}
spec:
  params: [{name: m, default: ""}]
  results: [{name: out}]
  steps:
    - {name: say, image: busybox, script: "echo $(params.m)"}
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  params: [{name: env, default: dev}]
  tasks:
    - name: fetch
      taskRef: {name: echo}
    - name: build
      runAfter: [fetch]
      taskRef: {name: echo}
    - name: deploy
      runAfter: [build]
      when: [{input: $(params.env), operator: in, values: [prod]}]
      taskRef: {name: echo}
    - name: notify
      runAfter: [deploy]
      taskRef: {name: echo}
    - name: report
      params: [{name: m, value: $(tasks.deploy.results.out)}]
      taskRef: {name: echo}
    - name: archive
      runAfter: [report]
      taskRef: {name: echo}
    - name: inline
      taskSpec:
        steps: [{name: one, image: busybox, script: "true", onError: continue}]
        sidecars: [{name: db, image: postgres}]
  finally:
    - name: cleanup
      params: [{name: m, value: $(tasks.status)}]
      taskRef: {name: echo}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr}
spec:
  pipelineRef: {name: p}
"""


def _plan() -> Plan:
    [plan] = tekton.compile_bundle(load([(textwrap.dedent(PIPELINE), "p.yaml")]))
    return plan


def _run(plan: Plan, base: dict[str, Any], fail: set[str] = frozenset(),  # type: ignore[assignment]
         stop: str = "") -> tuple[list[str], scheduler.State]:  # fmt: skip
    state = scheduler.State.new(plan)
    rules = tekton.TektonRules(base)
    started: list[str] = []
    while not scheduler.finished(plan, state):
        runs = [v.node for v in scheduler.settle(plan, state, rules) if v.action == "run"]
        if not runs and not any(s.status == "running" for s in state.nodes.values()):
            break
        for n in runs:
            started.append(n)
            ok = n not in fail
            state.finish(n, scheduler.SUCCESS if ok else scheduler.FAILURE,
                         {"out": n} if ok else {})  # fmt: skip
            if not ok and not plan.nodes[n].final:
                state.stopping = stop or tekton.STOPPING
    return started, state


def test_run_after_and_result_references_are_edges_and_steps_keep_where() -> None:
    plan = _plan()
    assert plan.name == "pr" and plan.syntax == "tekton" and plan.params == {"env": "dev"}
    assert [(e.source, e.kind) for e in plan.nodes["build"].edges] == [("fetch", "runAfter")]
    assert [(e.source, e.kind) for e in plan.nodes["report"].edges] == [("deploy", "result")]
    assert plan.nodes["cleanup"].final and plan.nodes["cleanup"].when == "always"
    deploy = plan.nodes["deploy"]
    assert deploy.condition == Condition(
        "tekton", [{"input": "$(params.env)", "operator": "in", "values": ["prod"]}],
        "p.yaml:23:7")  # fmt: skip
    assert plan.nodes["fetch"].where == "p.yaml:16:7"
    assert plan.nodes["fetch"].results == ["out"]
    [say] = plan.nodes["fetch"].steps
    assert (say.name, say.image, say.run) == ("say", "busybox", "echo $(params.m)")
    assert say.where == "p.yaml:17:7"  # the Task is another document: its taskRef
    [one] = plan.nodes["inline"].steps
    assert one.on_error == "continue" and one.where == "p.yaml:36:17"
    assert plan.nodes["inline"].services == ["db"]


def test_a_false_when_skips_only_its_task_and_result_readers() -> None:
    plan = _plan()
    order, state = _run(plan, {"params.env": "dev"})
    assert state.nodes["deploy"].reason == tekton.WHEN_FALSE
    assert state.nodes["deploy"].data["when"] == [
        {"input": "dev", "operator": "in", "values": ["prod"]}]  # fmt: skip
    assert state.nodes["notify"].status == "success"  # runAfter a when-skipped task: runs
    assert state.nodes["report"].reason == tekton.MISSING_RESULTS
    assert state.nodes["archive"].reason == tekton.PARENT_SKIPPED  # skipped for another reason
    assert order[-1] == "cleanup"
    assert tekton.tekton_vars(plan, state, {})["tasks.status"] == "Completed"


def test_when_true_runs_everything() -> None:
    order, state = _run(_plan(), {"params.env": "prod"})
    assert set(order) == set(_plan().nodes)
    assert tekton.aggregate(_plan(), state) == "Succeeded"


def test_a_failure_stops_new_tasks_and_finally_runs() -> None:
    plan = _plan()
    order, state = _run(plan, {"params.env": "prod"}, fail={"fetch"})
    assert "build" not in order and "cleanup" in order
    assert state.nodes["build"].reason == tekton.STOPPING
    assert tekton.tekton_vars(plan, state, {})["tasks.fetch.status"] == "Failed"


def test_a_cancelled_run_skips_finally_too() -> None:
    plan = _plan()
    order, state = _run(plan, {"params.env": "prod"}, fail={"fetch"}, stop=tekton.CANCELLED)
    assert "cleanup" not in order
    assert state.nodes["cleanup"].reason == tekton.CANCELLED


def test_finally_waits_for_every_task() -> None:
    plan = _plan()
    state = scheduler.State.new(plan)
    rules = tekton.TektonRules({"params.env": "prod"})
    first = scheduler.decide(plan, state, rules)
    assert [v.node for v in first] == ["fetch", "inline"]  # report waits for deploy's result


def test_a_lone_task_is_a_one_node_plan() -> None:
    text = PIPELINE.split("---")[0]
    [plan] = tekton.compile_bundle(load([(textwrap.dedent(text), "t.yaml")]))
    assert list(plan.nodes) == ["echo"] and plan.nodes["echo"].results == ["out"]
    assert to_data(plan)["nodes"][0]["steps"][0]["where"] == "t.yaml:8:7"


def test_the_evaluator_substitutes_params_and_reads_when_lists() -> None:
    ev = for_syntax("tekton")
    assert ev.render("$(params.a)-$(params['b'])", {"params.a": "x", "params.b": "y"}) == "x-y"
    cond = Condition("tekton", [{"input": "$(params.env)", "operator": "notin", "values": ["a"]}])
    assert ev.holds(cond, {"params.env": "b"}) and not ev.holds(cond, {"params.env": "a"})


def test_the_pipeline_scheduler_state_is_data_and_resumes() -> None:
    import json

    from shipway.ci.tekton import dag

    bundle = load([(textwrap.dedent(PIPELINE), "p.yaml")])
    spec = bundle.find("Pipeline", "p").spec  # type: ignore[union-attr]
    sched = dag.Scheduler(spec, {"params.env": "prod"})
    assert [t.name for t in sched.decide()] == ["fetch", "inline"]
    sched.finish("fetch", "Succeeded", {"out": "f"})
    data = json.loads(json.dumps(sched.state.to_data()))
    again = dag.Scheduler(spec, {"params.env": "prod"}, state=data)
    assert again.tasks["fetch"].status == "Succeeded" and again.tasks["fetch"].results == {
        "out": "f"
    }
    assert again.tasks["inline"].status == "Pending"  # it was running: it runs again
    assert [t.name for t in again.decide()] == ["build", "inline"]
