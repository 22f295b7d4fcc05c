"""Run one TaskRun: its sidecars, then its steps in order, then read its results.

``run_task`` takes a Task's spec, the params given, the workspaces bound
(host directories), an executor from ``steps`` and the ``context.*``
values, and returns the TaskRun's status as Tekton reports it plus a job
record in shipway's common shape. A step that fails stops the TaskRun
unless its ``onError`` is ``continue``; a step's ``timeout`` and the
TaskRun's timeout kill it; results over 4,096 bytes fail it. Touches the
TaskRun's directory and what the executor makes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.ci.tekton import companions
from shipway.ci.tekton import status as tstatus
from shipway.ci.tekton.params import resolve
from shipway.ci.tekton.task import StepPlan, check_results, plan_steps, propagated, task_vars
from shipway.ci.tekton_run.steps import Executor, Volumes
from shipway.model.errors import CIError
from shipway.model.events import rfc3339
from shipway.runtime.host import Cancel


def now() -> str:
    return rfc3339(dt.datetime.now(dt.UTC)) or ""


@dataclass
class TaskOutcome:
    name: str
    status: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)  # common step records
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return tstatus.succeeded(self.status)


@dataclass
class TaskRequest:
    name: str  # the TaskRun's name
    spec: dict[str, Any]
    params: dict[str, Any]
    workspaces: dict[str, Path]  # bound workspace -> host directory
    context: dict[str, str]
    timeout: float | None  # seconds; None: no limit
    base: Path
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)  # StepAction specs
    store: companions.Store = field(default_factory=lambda: companions.Store([]))  # ConfigMaps


def run_task(req: TaskRequest, executor: Executor, on_line: Callable[[str], None],
             cancel: Cancel) -> TaskOutcome:  # fmt: skip
    started, t0 = now(), time.monotonic()
    spec, undeclared = propagated(req.spec, req.params, req.workspaces)
    params, problems = resolve(list(spec.get("params") or []), req.params, f'TaskRun "{req.name}"')
    if problems:
        return _failed(req, started, "; ".join(problems), t0)
    params.update(undeclared)  # substituted as given, as Tekton does
    decls = {str(w["name"]): w for w in spec.get("workspaces") or []}
    missing = [n for n, w in decls.items() if n not in req.workspaces and not w.get("optional")]
    if missing:
        return _failed(req, started, f"bind workspace(s) {', '.join(missing)}: the Task "
                       "declares them and they are not optional", t0)  # fmt: skip
    vols = Volumes(req.base, {n: (req.workspaces[n], _mount(decls[n]),
                                  bool(decls[n].get("readOnly")))
                              for n in decls if n in req.workspaces})  # fmt: skip
    vols.make()
    for hostdir, _, _ in vols.workspaces.values():
        hostdir.mkdir(parents=True, exist_ok=True)
    bound = {n: f"ws-{n}" for n in vols.workspaces}
    values = task_vars(spec, params, bound, req.context, executor.paths(vols, False), req.store)
    host_values = task_vars(spec, params, bound, req.context, executor.paths(vols, True),
                            req.store)  # fmt: skip
    try:
        plans = plan_steps(spec, values, req.actions, strict=False)  # results not known yet
        sidecars = plan_steps({"steps": spec.get("sidecars") or []}, values, {})
    except (ValueError, KeyError) as exc:
        return _failed(req, started, str(exc), t0)
    for plan in plans:  # Tekton makes each step's directory before the steps start
        (vols.steps / plan.container).mkdir(parents=True, exist_ok=True)
        (vols.steps / plan.name / "results").mkdir(parents=True, exist_ok=True)
    deadline = None if req.timeout is None else t0 + req.timeout
    states: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    failed: tuple[str, int] | None = None
    timed_out: float | None = None
    failure = ""
    try:
        executor.open(vols, sidecars, on_line, plans)
        for i, planned in enumerate(plans):
            step = planned
            try:  # earlier steps' results are known now
                if not failure:
                    step = plan_steps(spec, values, req.actions, at=i)[i]
                    if executor.on_host(step):
                        step = plan_steps(spec, host_values, req.actions, at=i)[i]
            except ValueError as exc:
                failure = f"{step.container}: {exc}"
                on_line(f"error: {failure}")
            if failure or failed is not None or timed_out is not None or cancel.event.is_set():
                states.append(tstatus.step_skipped(step.name, step.image))
                records.append(_step_record(step, "skipped"))
                continue
            limit = _limit(step, deadline)
            s0 = now()
            on_line(f"[{step.container}] {_describe(step)}")
            out = executor.run(step, vols, _prefixed(on_line, step.container), limit, cancel)
            (vols.steps / step.container).mkdir(exist_ok=True)
            (vols.steps / step.container / "exitCode").write_text(str(out.code))
            states.append(tstatus.step_state(step.name, out.image, out.code, s0, now(),
                                             out.timed_out))  # fmt: skip
            _step_results(step, vols, values)
            _step_results(step, vols, host_values)
            task_timeout = out.timed_out and deadline is not None and time.monotonic() >= deadline
            if task_timeout:
                timed_out = req.timeout
            elif out.cancelled:
                failure = f'TaskRun "{req.name}" was cancelled'
            elif out.code != 0 or out.timed_out:
                if out.timed_out:
                    on_line(f"[{step.container}] timed out after {step.timeout}s")
                if step.on_error == "continue" and not out.timed_out:
                    on_line(f"[{step.container}] exited with {out.code}; onError: continue")
                else:
                    failed = (step.name, out.code if not out.timed_out else 1)
            result = "success" if out.code == 0 else "failure"
            records.append(_step_record(step, result, continued=step.on_error == "continue"))
    except CIError as exc:
        failure = str(exc)
        on_line(f"error: {failure}")
    finally:
        executor.close()
    written = {p.name: p.read_bytes() for p in vols.results.iterdir() if p.is_file()}
    results, problem = check_results(spec, written)
    if problem and not failure:
        failure = problem
    if cancel.event.is_set() and not failure and failed is None:
        failure = f'TaskRun "{req.name}" was cancelled'
    st = tstatus.taskrun_status(req.name, failed_step=failed[0] if failed else None,
                                failed_code=failed[1] if failed else 0, timed_out=timed_out,
                                failure=failure, steps=states, results=results,
                                started=started, finished=now(), spec=spec)  # fmt: skip
    if cancel.event.is_set() and failure.endswith("was cancelled"):
        st["conditions"][0]["reason"] = "TaskRunCancelled"
    return TaskOutcome(req.name, st, {r["name"]: r["value"] for r in results}, records,
                       round(time.monotonic() - t0, 3))  # fmt: skip


def _prefixed(on_line: Callable[[str], None], name: str) -> Callable[[str], None]:
    return lambda s: on_line(f"[{name}] {s}")


def _mount(decl: dict[str, Any]) -> str:
    return str(decl.get("mountPath") or f"/workspace/{decl['name']}")


def _limit(step: StepPlan, deadline: float | None) -> float | None:
    left = None if deadline is None else max(0.0, deadline - time.monotonic())
    if step.timeout is None:
        return left
    return step.timeout if left is None else min(step.timeout, left)


def _describe(step: StepPlan) -> str:
    what = "script" if step.script is not None else " ".join(step.command or ["(entrypoint)"])
    return f"{step.image or 'host'}: {what}"


def _step_results(step: StepPlan, vols: Volumes, values: dict[str, Any]) -> None:
    """``$(steps.<step>.results.<r>)`` for the steps after a StepAction's."""
    below = vols.steps / step.name / "results"
    for r in step.results:
        path = below / r
        if path.is_file():
            text = path.read_text()
            value: Any = text
            if step.result_types.get(r) in ("array", "object"):
                with contextlib.suppress(ValueError):  # not JSON: kept as the text, as written
                    value = json.loads(text)
            values[f"steps.{step.name}.results.{r}"] = value


def _step_record(step: StepPlan, result: str, continued: bool = False) -> dict[str, Any]:
    conclusion = "success" if continued and result == "failure" else result
    return {"id": step.name, "name": step.container, "outcome": result,
            "conclusion": conclusion, "outputs": {}}  # fmt: skip


def _failed(req: TaskRequest, started: str, message: str, t0: float) -> TaskOutcome:
    st = tstatus.taskrun_status(req.name, failed_step=None, failed_code=0, timed_out=None,
                                failure=message, steps=[], results=[], started=started,
                                finished=now(), spec=req.spec)  # fmt: skip
    st["conditions"][0]["reason"] = "TaskRunValidationFailed"
    return TaskOutcome(req.name, st, seconds=round(time.monotonic() - t0, 3))
