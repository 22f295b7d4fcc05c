"""The CI engine: run a planned workflow's jobs in ``needs`` order with GitHub's semantics.

Job results (success, failure, cancelled, skipped) propagate as GitHub
does: a job whose needs did not all succeed is skipped unless its ``if``
uses a status function; ``failure()`` sees any failed ancestor. Matrix jobs
run once per combination (fail-fast cancels the rest of the matrix). The
engine reports its progress through ``on_state`` so a caller can persist it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.template import condition, render, render_deep, render_str
from shipway.ci.expr.values import from_json_value, to_str, truthy
from shipway.ci.job import JobRun
from shipway.ci.plan.dag import topo_order
from shipway.ci.plan.matrix import MatrixError, expand
from shipway.ci.plan.model import Job, Workflow
from shipway.ci.runinfo import RunInfo, github_context
from shipway.ci.runstate import RunState

StateHook = Callable[[str, dict[str, Any]], None]


class Engine:
    """Runs one workflow for one event; ``run()`` returns the run record."""

    def __init__(
        self,
        workflow: Workflow,
        info: RunInfo,
        *,
        inputs: dict[str, Any] | None = None,
        on_state: StateHook | None = None,
        state: RunState | None = None,
    ) -> None:
        self.wf = workflow
        self.info = info
        self.rs = state or RunState(info, workflow, inputs)
        self.on_state = on_state
        self.results: dict[str, str] = {}
        self.outputs: dict[str, dict[str, str]] = {}
        self.records: list[dict[str, Any]] = []

    def selected(self) -> list[str]:
        graph = {j.id: j.needs for j in self.wf.jobs.values()}
        order = topo_order(graph)
        if not self.info.job_filter:
            return order
        if self.info.job_filter not in graph:
            from shipway.model.errors import NotFoundError

            raise NotFoundError(
                f"workflow has no job {self.info.job_filter!r}", subject=self.wf.file
            )
        keep: set[str] = set()
        stack = [self.info.job_filter]
        while stack:
            j = stack.pop()
            if j not in keep:
                keep.add(j)
                stack.extend(graph[j])
        return [j for j in order if j in keep]

    def run(self) -> dict[str, Any]:
        started = time.time()
        (self.info.base_dir / "jobs").mkdir(parents=True, exist_ok=True)
        self._state("running")
        for jid in self.selected():
            self.results[jid] = self._run_job(self.wf.jobs[jid])
            self._state("running")
        conclusion = self._conclusion()
        record = {
            "id": self.info.run_id,
            "workflow": self.wf.name,
            "file": self.wf.file,
            "event": self.info.event,
            "ref": self.info.ref,
            "commit": self.info.commit,
            "conclusion": conclusion,
            "started": started,
            "seconds": round(time.time() - started, 3),
            "jobs": self.records,
            "annotations": self.rs.annotations,
        }
        masked: dict[str, Any] = self.rs.mask_deep(record)
        self._state("done")
        return masked

    def _conclusion(self) -> str:
        values = set(self.results.values())
        if "cancelled" in values or self.rs.cancel.event.is_set():
            return "cancelled"
        if "failure" in values:
            return "failure"
        return "success"

    def _state(self, phase: str) -> None:
        if self.on_state is not None:
            state = {"results": dict(self.results), "outputs": self.outputs}
            self.on_state(phase, self.rs.mask_deep(state))

    # -- jobs -------------------------------------------------------------------
    def _ancestors(self, job: Job) -> set[str]:
        seen: set[str] = set()
        stack = list(job.needs)
        while stack:
            j = stack.pop()
            if j not in seen:
                seen.add(j)
                stack.extend(self.wf.jobs[j].needs)
        return seen

    def _job_scope(self, job: Job, matrix: dict[str, Any] | None = None) -> Scope:
        needs = {
            n: {"result": self.results.get(n, "skipped"), "outputs": self.outputs.get(n, {})}
            for n in job.needs
        }
        ancestors = self._ancestors(job)
        cancelled = self.rs.cancel.event.is_set()

        def status(name: str) -> bool:
            if name == "always":
                return True
            if name == "cancelled":
                return cancelled
            if name == "failure":
                return not cancelled and any(self.results.get(a) == "failure" for a in ancestors)
            return not cancelled and all(needs[n]["result"] == "success" for n in job.needs)

        ctx = {
            "github": github_context(self.info, self.wf.name, job.id, self.info.base_dir),
            "needs": needs,
            "vars": self.info.vars,
            "inputs": self.rs.inputs,
            "matrix": matrix or {},
            "strategy": {},
            "secrets": self.rs.secrets_ctx,
            "env": {},
        }
        return Scope(ctx, status=status)

    def _run_job(self, job: Job) -> str:
        scope = self._job_scope(job)
        try:
            if not condition(job.if_, scope):
                self.records.append(_job_record(job.id, job.name or job.id, {}, "skipped", {}, []))
                self._log(job.name or job.id, "skipped (its 'if' condition is false)")
                return "skipped"
            combos = self._matrix(job, scope)
        except (ExprError, MatrixError) as exc:
            msg = exc.message if isinstance(exc, ExprError) else str(exc)
            self._log(job.id, f"::error::{job.where}: {msg}")
            self.records.append(_job_record(job.id, job.name or job.id, {}, "failure", {}, []))
            return "failure"
        return self._run_matrix(job, scope, combos)

    def _matrix(self, job: Job, scope: Scope) -> list[dict[str, Any]]:
        if job.strategy is None or job.strategy.matrix is None:
            return [{}]
        value = render_deep(job.strategy.matrix, scope)
        if isinstance(value, str):
            value = render(value, scope)
        if not isinstance(value, dict):
            raise MatrixError("the matrix expression must evaluate to a mapping")
        return expand(value)

    def _run_matrix(self, job: Job, scope: Scope, combos: list[dict[str, Any]]) -> str:
        strat = job.strategy
        fail_fast = True
        if strat is not None:
            fail_fast = truthy(render_deep(strat.fail_fast, scope))
        results: list[str] = []
        stop = False
        total = len(combos)
        for index, combo in enumerate(combos):
            matrix = from_json_value(combo)
            jscope = self._job_scope(job, matrix)
            display = self._display(job, matrix, jscope, total > 1 or bool(combo))
            if stop:
                results.append("cancelled")
                self.records.append(_job_record(job.id, display, combo, "cancelled", {}, []))
                continue
            strategy = {"fail-fast": fail_fast, "job-index": float(index),
                        "job-total": float(total), "max-parallel": float(total)}  # fmt: skip
            needs = jscope.contexts["needs"]
            run = JobRun(self.rs, job, f"{job.id}-{index}", display, matrix, strategy, needs)
            self._log(display, f"started ({self.wf.file})")
            result = run.execute()
            outputs = run.outputs()
            coe = truthy(render_deep(job.continue_on_error, jscope))
            if result == "failure" and coe:
                result = "success"
            self._log(display, f"{result}")
            self.outputs.setdefault(job.id, {}).update(outputs)
            steps = [r.record() for r in run.results]
            self.records.append(_job_record(job.id, display, combo, result, outputs, steps))
            results.append(result)
            if result == "failure" and fail_fast:
                stop = True
        if "failure" in results:
            return "failure"
        if "cancelled" in results:
            return "cancelled"
        return "success"

    def _display(self, job: Job, matrix: dict[str, Any], scope: Scope, show: bool) -> str:
        if job.name is not None:
            try:
                return render_str(job.name, scope)
            except ExprError:
                return job.name
        if not show:
            return job.id
        values = ", ".join(to_str(v) if not isinstance(v, dict | list) else "..."
                           for v in matrix.values())  # fmt: skip
        return f"{job.id} ({values})"

    def _log(self, job: str, line: str) -> None:
        self.rs.emit(job, "", line)


def _job_record(
    jid: str,
    name: str,
    matrix: dict[str, Any],
    result: str,
    outputs: dict[str, str],
    steps: list[dict[str, Any]],
) -> dict[str, Any]:
    return {"id": jid, "name": name, "matrix": matrix, "result": result,
            "outputs": outputs, "steps": steps}  # fmt: skip
