"""Run a PipelineRun: its tasks in Tekton's order (in parallel where it allows), then finally.

``run_pipeline`` asks ``tekton.dag.Scheduler`` which tasks start, runs each
as a TaskRun (``taskrun.run_task``; a matrix task once per combination,
``<run>-<task>-<i>``; a failed one again up to ``retries`` times), applies
``timeouts`` (pipeline, tasks, finally: running TaskRuns are cancelled and
no new one starts) and returns the PipelineRun's status with its
``childReferences``, its results, and a job record per TaskRun. After every
TaskRun ends ``PipelineRequest.on_state`` gets the run's state as data (the
scheduler's state, the childReferences and job records so far, the start
times and the time run); given back as ``prior`` it resumes the run: tasks
that ended keep their results, a task that was running runs again (as Tekton
retries a TaskRun whose pod is gone). Touches the run's directory and what
the executors make.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.ci.neutral import scheduler as sch
from shipway.ci.tekton import companions, dag, subst
from shipway.ci.tekton import status as tstatus
from shipway.ci.tekton.load import Bundle
from shipway.ci.tekton.params import given_map
from shipway.ci.tekton.schema import parse_duration
from shipway.ci.tekton.task import used_workspaces
from shipway.ci.tekton_run.steps import Executor
from shipway.ci.tekton_run.taskrun import TaskOutcome, TaskRequest, now, run_task
from shipway.runtime.host import Cancel

DEFAULT_TASK_TIMEOUT = 3600.0


@dataclass
class PipelineRequest:
    name: str
    pipeline: str  # the Pipeline's name ("" when embedded)
    spec: dict[str, Any]
    params: dict[str, Any]  # the pipeline's params, resolved
    workspaces: dict[str, Path]  # bound pipeline workspace -> host directory
    timeouts: dict[str, float | None]  # pipeline, tasks, finally (seconds; None: no limit)
    base: Path
    bundle: Bundle
    context: dict[str, str] = field(default_factory=dict)  # pipelineRun.* / pipeline.*
    task_timeouts: dict[str, float] = field(default_factory=dict)  # taskRunSpecs[].timeout
    on_state: Callable[[dict[str, Any]], None] | None = None  # after each TaskRun: the state
    prior: dict[str, Any] | None = None  # a stored state: resume from it


@dataclass
class PipelineOutcome:
    status: dict[str, Any]
    jobs: list[dict[str, Any]]
    results: dict[str, Any]

    @property
    def ok(self) -> bool:
        return tstatus.succeeded(self.status)


def task_spec(pt: dict[str, Any], req: PipelineRequest) -> dict[str, Any]:
    """A pipeline task's Task spec (an embedded one without its ``metadata``)."""
    if isinstance(pt.get("taskSpec"), dict):
        return {k: v for k, v in pt["taskSpec"].items() if k not in ("metadata", "apiVersion",
                                                                     "kind", "spec")}  # fmt: skip
    ref = pt["taskRef"]
    doc = req.bundle.find(str(ref.get("kind") or "Task"), str(ref["name"]))
    assert doc is not None  # load() checked it
    return doc.spec


def run_pipeline(req: PipelineRequest, make: Callable[[str], Executor],
                 on_line: Callable[[str], None], cancel: Cancel) -> PipelineOutcome:  # fmt: skip
    prior = req.prior or {}
    started = str(prior.get("started") or now())
    t0 = time.monotonic() - float(prior.get("elapsed") or 0.0)  # timeouts count time run
    base_vars: dict[str, Any] = {f"params.{k}": v for k, v in req.params.items()}
    base_vars.update({f"context.{k}": v for k, v in req.context.items()})
    for w in req.spec.get("workspaces") or []:
        base_vars[f"workspaces.{w['name']}.bound"] = "true" if w["name"] in req.workspaces \
            else "false"  # fmt: skip
    stored = prior.get("scheduler") if isinstance(prior.get("scheduler"), dict) else None
    sched = dag.Scheduler(req.spec, base_vars, state=stored)
    children: list[dict[str, Any]] = list(prior.get("children") or [])
    jobs: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in
                                             (prior.get("jobs") or {}).items()}  # fmt: skip
    cancels: dict[str, Cancel] = {}
    finally_started = str(prior.get("finally_started") or "")
    timed_out: float | None = None
    limits = req.timeouts
    finally_t0: float | None = None
    if prior.get("finally_elapsed") is not None:
        finally_t0 = time.monotonic() - float(prior["finally_elapsed"])
    rerun = _was_running(stored, sched, req)
    if rerun:
        on_line(f"resumed: {sum(t.status in dag.DONE for t in sched.tasks.values())} task(s) "
                f"had ended; running again: {', '.join(t.name for t in rerun)}")  # fmt: skip

    def save() -> None:
        if req.on_state is None:
            return
        req.on_state({"scheduler": sched.state.to_data(), "children": list(children),
                      "jobs": {k: list(v) for k, v in jobs.items()}, "started": started,
                      "finally_started": finally_started,
                      "elapsed": round(time.monotonic() - t0, 3),
                      "finally_elapsed": None if finally_t0 is None else round(
                          time.monotonic() - finally_t0, 3)})  # fmt: skip

    with ThreadPoolExecutor(max_workers=8) as pool:
        running: dict[Future[tuple[str, list[TaskOutcome], int]], str] = {}
        while True:
            if cancel.event.is_set() and sched.stopping != dag.CANCELLED:
                sched.stop(dag.CANCELLED)
            starting, rerun = [*rerun, *sched.decide()], []
            for st in starting:
                if st.final and not finally_started:
                    finally_started, finally_t0 = now(), time.monotonic()
                cancels[st.name] = cancel.child()
                running[pool.submit(_run_pt, st, req, sched.vars(), make, on_line,
                                    cancels[st.name])] = st.name  # fmt: skip
            if starting:
                save()  # which tasks are running: a resume runs them again
            for st in sched.tasks.values():
                if st.status == "Skipped" and st.name not in jobs:
                    jobs[st.name] = [_skipped_job(st)]
                    on_line(f"[{st.name}] skipped: {st.reason}")
            if not running:
                break
            done, _ = wait(list(running), timeout=1.0, return_when=FIRST_COMPLETED)
            for fut in done:
                name = running.pop(fut)
                pt_name, outcomes, combos = fut.result()
                st = sched.tasks[pt_name]
                status = "Succeeded" if all(o.ok for o in outcomes) else (
                    "Cancelled" if cancels[name].event.is_set() else "Failed")  # fmt: skip
                sched.finish(pt_name, status, _results(outcomes, combos), combos)
                if st.ignored:  # its failed TaskRuns say why the run went on
                    for o in outcomes:
                        if not o.ok:
                            o.status["conditions"][0]["reason"] = dag.FAILURE_IGNORED
                for o in outcomes:
                    children.append(tstatus.child_ref(o.name, pt_name, st.when))
                jobs[pt_name] = [_job(pt_name, o) for o in outcomes]
                save()
            elapsed = time.monotonic() - t0
            reason = _timeout(limits, elapsed, sched, finally_t0)
            if reason and sched.stopping != reason:
                sched.stop(reason)
                if reason == dag.PIPELINE_TIMEOUT:  # tasks/finally: cancelled, reason Failed
                    timed_out = limits.get("pipeline")
                for name in running.values():
                    st = sched.tasks[name]
                    if reason == dag.PIPELINE_TIMEOUT or st.final == (
                        reason == dag.FINALLY_TIMEOUT
                    ):
                        on_line(f"[{name}] cancelled: {reason}")
                        cancels[name].cancel()
    if cancel.event.is_set():
        sched.stop(dag.CANCELLED)
        sched.decide()
    values = sched.vars()
    results: dict[str, Any] = {}
    for r in req.spec.get("results") or []:  # results of a task that did not succeed: none
        refs = list(subst.refs_deep(r.get("value")))
        ok = all(sched.tasks[ref.parts[1]].status == "Succeeded" for ref in refs
                 if ref.parts[0] == "tasks" and ref.parts[1] in sched.tasks)  # fmt: skip
        if ok and all(subst.found(ref, values) for ref in refs):
            results[str(r["name"])] = subst.render_value(r.get("value"), values)
    final = tstatus.pipelinerun_status(
        req.name, sched, children,
        [{"name": k, "value": v} for k, v in results.items()],
        started=started, finished=now(), spec=req.spec, timed_out=timed_out,
        finally_started=finally_started, cancelled_run=cancel.event.is_set())  # fmt: skip
    order = list(sched.tasks)
    return PipelineOutcome(final, [j for n in order for j in jobs.get(n, [])], results)


def _was_running(stored: dict[str, Any] | None, sched: dag.Scheduler,
                 req: PipelineRequest) -> list[dag.TaskState]:  # fmt: skip
    """The tasks a stopped run was running: marked Running again, to start before the others
    (a PipelineRun that was stopping still lets its running tasks finish); what their
    TaskRuns left in the run's directory (results, scripts) is removed first."""
    nodes = (stored or {}).get("nodes") or {}
    names = [n for n, raw in nodes.items() if isinstance(raw, dict)
             and raw.get("status") == sch.RUNNING and n in sched.tasks]  # fmt: skip
    for n in names:
        sched.state.start(n)
        own = re.compile(re.escape(f"{req.name}-{n}") + r"(-\d+)?")
        for d in req.base.glob(f"{req.name}-{n}*") if req.base.is_dir() else []:
            if own.fullmatch(d.name):
                shutil.rmtree(d, ignore_errors=True)
    return [sched.tasks[n] for n in names]


def _timeout(limits: dict[str, float | None], elapsed: float, sched: dag.Scheduler,
             finally_t0: float | None) -> str:  # fmt: skip
    pipeline, tasks, final = limits.get("pipeline"), limits.get("tasks"), limits.get("finally")
    if pipeline and elapsed > pipeline:
        return dag.PIPELINE_TIMEOUT
    if tasks and elapsed > tasks and not sched.main_done():
        return dag.TASKS_TIMEOUT
    if final and finally_t0 is not None and time.monotonic() - finally_t0 > final:
        return dag.FINALLY_TIMEOUT
    return ""


def _run_pt(st: dag.TaskState, req: PipelineRequest, values: dict[str, Any],
            make: Callable[[str], Executor], on_line: Callable[[str], None],
            cancel: Cancel) -> tuple[str, list[TaskOutcome], int]:  # fmt: skip
    pt = st.spec
    spec = subst.render_deep(task_spec(pt, req), {k: v for k, v in values.items()
                                                  if k.startswith("context.")})  # fmt: skip
    retries = int(pt.get("retries") or 0)
    values = {**values, "context.pipelineTask.retries": str(retries)}  # its params may say it
    params = {k: subst.render_value(v, values) for k, v in given_map(pt.get("params")).items()}
    embedded = isinstance(pt.get("taskSpec"), dict)
    if embedded:  # Tekton propagates the pipeline's params; the task's own of a name win
        params = {**req.params, **params}
    combos = dag.matrix_combos(pt.get("matrix"), values)
    ws = {}
    for w in pt.get("workspaces") or []:
        bound = req.workspaces.get(str(w.get("workspace", w["name"])))
        if bound is not None:
            sub = subst.render(str(w.get("subPath") or ""), values)  # may name params
            ws[str(w["name"])] = bound / sub if sub else bound
    if embedded:  # and the pipeline's workspaces its steps use without a binding
        ws.update({n: req.workspaces[n] for n in used_workspaces(spec)
                   if n in req.workspaces and n not in ws})  # fmt: skip
    timeout = parse_duration(str(pt["timeout"])) if pt.get("timeout") else DEFAULT_TASK_TIMEOUT
    timeout = req.task_timeouts.get(st.name, timeout)  # the PipelineRun's taskRunSpecs win
    outcomes: list[TaskOutcome] = []
    for i, combo in enumerate(combos or [{}]):
        name = f"{req.name}-{st.name}" + (f"-{i}" if combos else "")
        outcome: TaskOutcome | None = None
        retry_status: list[dict[str, Any]] = []
        for attempt in range(retries + 1):
            context = {**{k[len("context."):]: v for k, v in values.items()
                          if k.startswith("context.")},
                       "taskRun.name": name, "taskRun.namespace": "default",
                       "taskRun.uid": f"{name}-uid", "task.name": st.name,
                       "task.retry-count": str(attempt),
                       "pipelineTask.retries": str(retries)}  # fmt: skip
            outcome = run_task(TaskRequest(name, spec, {**params, **combo}, ws, context,
                                           timeout or None, req.base / name / str(attempt),
                                           _actions(req), companions.Store(
                                               req.bundle.companions)), make(name),
                               _prefixed(on_line, st.name), cancel)  # fmt: skip
            if outcome.ok or cancel.event.is_set() or attempt == retries:
                break
            on_line(f"[{st.name}] failed; retry {attempt + 1} of {retries}")
            retry_status.append(outcome.status)
        assert outcome is not None
        if retry_status:
            outcome.status["retriesStatus"] = retry_status
        outcomes.append(outcome)
        if cancel.event.is_set():
            break
    return st.name, outcomes, len(combos)


def _prefixed(on_line: Callable[[str], None], task: str) -> Callable[[str], None]:
    return lambda s: on_line(f"[{task}] {s}")


def _actions(req: PipelineRequest) -> dict[str, dict[str, Any]]:
    return {d.name: d.spec for d in req.bundle.docs if d.kind == "StepAction"}


def _results(outcomes: list[TaskOutcome], combos: int) -> dict[str, Any]:
    if not combos:
        return dict(outcomes[0].results) if outcomes else {}
    out: dict[str, list[Any]] = {}
    for o in outcomes:  # a matrix task's results: one array per result name
        for k, v in o.results.items():
            out.setdefault(k, []).append(v)
    return dict(out)


def _job(pt: str, o: TaskOutcome) -> dict[str, Any]:
    return {"id": pt, "name": o.name, "matrix": {}, "result": "success" if o.ok else "failure",
            "outputs": o.results, "steps": o.steps, "seconds": o.seconds,
            "status": o.status}  # fmt: skip


def _skipped_job(st: dag.TaskState) -> dict[str, Any]:
    return {"id": st.name, "name": st.name, "matrix": {}, "result": "skipped", "outputs": {},
            "steps": [], "reason": st.reason}  # fmt: skip
