"""The CI engine: run a planned workflow's jobs in ``needs`` order with GitHub's semantics.

Jobs whose needs are done run in parallel (threads; each step is its own
process); the neutral scheduler (``ci.neutral``, GitHub's rules) says whose turn
came. Results (success, failure, cancelled, skipped) propagate as GitHub
does: a job whose needs did not all succeed is skipped unless its ``if`` uses
a status function; ``success()`` and ``failure()`` look at every ancestor. Matrix jobs run
once per combination, at most ``max-parallel`` at a time; ``fail-fast``
cancels the rest of the matrix. ``concurrency`` groups (workflow and job
level) hold across every process on the store's database (within this process
when there is no store). Each job instance gets its own ``GITHUB_TOKEN`` (unless
the run was given one), masked, with its effective scopes (``permissions``,
logged and recorded in the store), expired when the job ends; and passes its ``environment``'s
protection rules before it starts (``ci.environments``); one instance of a job
(a matrix combination) is ``ci.instance``'s. Progress goes to ``on_state`` so a
caller can persist it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from typing import Any

from shipway.ci import concurrency, instance
from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.template import condition, render_deep, render_str
from shipway.ci.expr.values import from_json_value, integral, to_num, to_str, truthy
from shipway.ci.neutral import github as neutral_github
from shipway.ci.neutral import scheduler as sch
from shipway.ci.plan import permissions
from shipway.ci.plan.dag import topo_order
from shipway.ci.plan.matrix import MatrixError, expand, rendered_matrix
from shipway.ci.plan.model import Job, Workflow
from shipway.ci.runinfo import RunInfo, github_context
from shipway.ci.runstate import RunState
from shipway.model.errors import NotFoundError
from shipway.model.events import epoch_of, rfc3339, stamp
from shipway.runtime.host import Cancel
from shipway.store import ci_coord
from shipway.store.db import Store

StateHook = Callable[[str, dict[str, Any]], None]
CallOne = Callable[[int, str, Scope, Cancel], str]  # one combination of a reusable call


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
        prefix: str = "",
        prior: dict[str, Any] | None = None,
        store: Store | None = None,
    ) -> None:
        self.wf = workflow
        self.plan = neutral_github.compile_workflow(workflow)  # for the status functions
        self.store = store
        self.token_cap: dict[str, str] | None = info.token_cap  # a calling job's (reusable)
        self.held_groups: tuple[str, ...] = ()  # concurrency groups the run holds around us
        self.forward_wait: Callable[[dict[str, Any], bool], None] | None = None  # to a caller
        self.info = info
        self.input_error = ""
        if inputs is None and state is None and info.event == "workflow_dispatch":
            from shipway.ci.reusable import dispatch_inputs

            inputs, self.input_error = dispatch_inputs(workflow, info)
        self.rs = state or RunState(info, workflow, inputs)
        self.on_state = on_state
        self.prefix = prefix  # "caller-job / " for the jobs of a called workflow
        self.results: dict[str, str] = {}
        self.outputs: dict[str, dict[str, str]] = {}
        self.job_records: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.started = time.time()
        if prior:  # resuming: jobs that finished before keep their results
            self.results.update(prior.get("results") or {})
            self.outputs.update(prior.get("outputs") or {})
            self.job_records.update(prior.get("records") or {})
            self.started = epoch_of(prior.get("started")) or self.started

    # -- the run ----------------------------------------------------------------
    def selected(self) -> list[str]:
        graph = {j.id: j.needs for j in self.wf.jobs.values()}
        order = topo_order(graph)
        if not self.info.job_filter or self.prefix:
            return order
        if self.info.job_filter not in graph:
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
        (self.info.base_dir / "jobs").mkdir(parents=True, exist_ok=True)
        self._state("running")
        if self.info.note and not self.prefix:
            self._log(self.wf.name, self.info.note)
        group = self._group(self.wf.concurrency, self._job_scope(None))
        if self.input_error:
            self._log(self.wf.name, f"::error::{self.wf.file}: {self.input_error}")
            self.results["(inputs)"] = "failure"
        elif group is None:
            self.run_jobs()
        else:
            with self._hold(group, self.rs.cancel, "", self.wf.name) as acquired:
                if acquired:
                    self.held_groups = (group[0],)
                    self.run_jobs()
                else:
                    self._log(self.wf.name, f"cancelled: a newer run holds group {group[0]!r}")
                    self.rs.cancel.cancel()
        if self.store is not None:  # tokens of jobs a killed process left behind end too
            ci_coord.expire_run_tokens(self.store, self.info.run_id)
        self._state("done")
        return self.snapshot(done=True)

    def snapshot(self, done: bool = False) -> dict[str, Any]:
        """The run record so far (masked); ``conclusion`` is empty until the run is done."""
        with self.lock:
            records = {k: list(v) for k, v in self.job_records.items()}
        record = {
            "id": self.info.run_id,
            "workflow": self.wf.name,
            "file": self.wf.file,
            "event": self.info.event,
            "ref": self.info.ref,
            "commit": self.info.commit,
            **({"pipeline": self.info.pipeline} if self.info.pipeline else {}),
            "status": "completed" if done else self._live_status(records),
            "conclusion": self._conclusion() if done else "",
            "started": rfc3339(dt.datetime.fromtimestamp(self.started, dt.UTC)),
            "seconds": round(time.time() - self.started, 3),
            "jobs": [
                {k: v for k, v in r.items() if k != "index"}
                for jid in self.selected()
                for r in records.get(jid, [])
            ],
            "annotations": list(self.rs.annotations),
        }
        masked: dict[str, Any] = self.rs.mask_record(record)
        return masked

    @staticmethod
    def _live_status(records: dict[str, list[dict[str, Any]]]) -> str:
        waits = any(r.get("status") == "waiting" for recs in records.values() for r in recs)
        return "waiting" if waits else "in_progress"

    def _waiting(self, job: Job, rec: dict[str, Any], on: bool) -> None:
        """While ``on``, the job instance shows as ``waiting`` (for a review) in the record.

        A called workflow's job shows under its calling job, in the top run's record.
        """
        if self.forward_wait is not None:
            self.forward_wait(rec, on)
            return
        with self.lock:
            recs = [r for r in self.job_records.get(job.id, []) if r is not rec]
            if on:
                recs = sorted([*recs, rec], key=lambda r: int(r["index"]))
            if recs:
                self.job_records[job.id] = recs
            else:
                self.job_records.pop(job.id, None)
        if on:
            self._state("running")

    def run_jobs(self) -> None:
        """Run the selected jobs, each as soon as the neutral scheduler says its turn came
        (its needs are done); a job GitHub skips (a need that did not succeed, no status
        function in its ``if``) or cancels is recorded without starting."""
        plan = neutral_github.compile_workflow(self.wf, self.selected())
        state = sch.State.new(plan)
        for jid, result in self.results.items():  # a resumed run: jobs that ended
            if jid in state.nodes and result in sch.TERMINAL:
                state.finish(jid, result)
        rules = neutral_github.GitHubRules()
        running: dict[Future[str], str] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(len(plan.nodes), 32))) as pool:
            while True:
                state.cancelled = self.rs.cancel.event.is_set()
                found = sch.decide(plan, state, rules)
                for v in found:
                    if v.action == "run":
                        state.start(v.node)
                        running[pool.submit(self._run_job, self.wf.jobs[v.node])] = v.node
                    else:
                        self._ended(state, v.node, self._decided(self.wf.jobs[v.node], v))
                if any(v.action != "run" for v in found):  # more jobs' turn may have come
                    continue
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    jid = running.pop(fut)
                    self._ended(state, jid, fut.result())

    def _ended(self, state: sch.State, jid: str, result: str) -> None:
        with self.lock:
            self.results[jid] = result
        state.finish(jid, result if result in sch.TERMINAL else sch.FAILURE)
        self._state("running")

    def _decided(self, job: Job, v: sch.Verdict) -> str:
        """A job the scheduler skipped or cancelled, recorded as the job itself would be."""
        name = job.name or job.id
        if v.action == "cancel":
            self._record(job, name, {}, "cancelled", {}, [])
            return "cancelled"
        self._record(job, name, {}, "skipped", {}, [])
        self._log(self.prefix + name, "skipped (its 'if' condition is false)")
        return "skipped"

    def _conclusion(self) -> str:
        values = set(self.results.values())
        if "cancelled" in values or self.rs.cancel.event.is_set():
            return "cancelled"
        if "failure" in values:
            return "failure"
        return "success"

    def _state(self, phase: str) -> None:
        if self.on_state is not None:
            with self.lock:
                state = {"results": dict(self.results), "outputs": dict(self.outputs),
                         "records": {k: list(v) for k, v in self.job_records.items()
                                     if k in self.results},
                         "started": stamp(self.started)}  # fmt: skip
            self.on_state(phase, self.rs.mask_record(state))

    def _group(self, spec: Any, scope: Scope) -> tuple[str, bool] | None:
        if spec is None:
            return None
        if isinstance(spec, dict):
            name = render_str(str(spec.get("group", "")), scope)
            cip = truthy(render_deep(spec.get("cancel-in-progress", False), scope))
        else:
            name, cip = render_str(str(spec), scope), False
        return (f"{self.info.repository_name}/{name}", cip) if name else None

    def _hold(
        self, group: tuple[str, bool], cancel: Cancel, job: str, display: str
    ) -> AbstractContextManager[bool]:
        key = group[0].lower()  # GitHub compares group names without case
        if self.store is None:
            return concurrency.hold(key, cancel, group[1])
        holder = f"{self.info.run_id}/{self.prefix}{job}"
        return concurrency.hold_shared(self.store, key, holder, cancel, group[1],
                                       lambda line: self._log(display, line))  # fmt: skip

    def permissions_for(self, job: Job) -> dict[str, str]:
        """The ``GITHUB_TOKEN`` scopes of ``job`` (the job's, else the workflow's, else default)."""
        return permissions.effective(
            self.wf.permissions, job.permissions, self.info.token_default, self.token_cap
        )

    # -- jobs -------------------------------------------------------------------
    def _job_scope(self, job: Job | None, matrix: dict[str, Any] | None = None) -> Scope:
        with self.lock:
            needs = {
                n: {"result": self.results.get(n, "skipped"), "outputs": self.outputs.get(n, {})}
                for n in (job.needs if job else [])
            }
            state = sch.State.new(self.plan)
            for jid_, result in self.results.items():
                if jid_ in state.nodes and result in sch.TERMINAL:
                    state.finish(jid_, result)
        state.cancelled = self.rs.cancel.event.is_set()
        # as on GitHub, success() and failure() look at every job up the needs chain
        node = self.plan.nodes[job.id] if job else None
        status = neutral_github.status_function(self.plan, state, node)
        jid = job.id if job else ""
        ctx = {
            "github": github_context(self.info, self.wf.name, jid, self.info.base_dir),
            "needs": needs,
            "vars": self.info.vars,
            "inputs": self.rs.inputs,
            "matrix": matrix or {},
            "strategy": {},
            "secrets": self.rs.secrets_ctx,
            "env": {},
        }  # fmt: skip
        return Scope(ctx, status=status)

    def _record(
        self,
        job: Job,
        name: str,
        matrix: dict[str, Any],
        result: str,
        outputs: dict[str, str],
        steps: list[dict[str, Any]],
        index: int = 0,
        summary: str = "",
        extra: dict[str, Any] | None = None,
    ) -> None:
        rec = {"id": job.id, "name": self.prefix + name, "matrix": integral(matrix),
               "result": result, "outputs": outputs, "steps": steps, "index": index}  # fmt: skip
        if summary:
            rec["summary"] = summary
        if job.needs:
            rec["needs"] = list(job.needs)  # the UI draws the run's jobs as a graph by needs
        if not job.uses:
            rec["permissions"] = self.permissions_for(job)
        if extra:
            rec.update(extra)
        with self.lock:
            self.job_records.setdefault(job.id, []).append(rec)
            self.job_records[job.id].sort(key=lambda r: int(r["index"]))

    def _run_job(self, job: Job) -> str:
        try:
            return self._run_job_inner(job)
        except Exception as exc:  # a bug or an I/O failure must not crash the whole run
            self._log(self.prefix + job.id, f"::error::internal error: {type(exc).__name__}: {exc}")
            if job.id not in self.job_records:
                self._record(job, job.name or job.id, {}, "failure", {}, [])
            return "failure"

    def _run_job_inner(self, job: Job) -> str:
        scope = self._job_scope(job)
        name = job.name or job.id
        try:
            if self.rs.cancel.event.is_set() and job.if_ is None:
                self._record(job, name, {}, "cancelled", {}, [])
                return "cancelled"
            if not condition(job.if_, scope):
                self._record(job, name, {}, "skipped", {}, [])
                self._log(self.prefix + name, "skipped (its 'if' condition is false)")
                return "skipped"
            combos = self._matrix(job, scope)
            group = self._group(job.concurrency, scope)
        except (ExprError, MatrixError) as exc:
            msg = exc.message if isinstance(exc, ExprError) else str(exc)
            self._log(self.prefix + job.id, f"::error::{job.where}: {msg}")
            self._record(job, name, {}, "failure", {}, [])
            return "failure"
        if group is None:
            return self._body(job, scope, combos, (), self.rs.cancel)
        cancel = self.rs.cancel.child()
        with self._hold(group, cancel, job.id, self.prefix + name) as acquired:
            if not acquired:
                self._record(job, name, {}, "cancelled", {}, [])
                return "cancelled"
            return self._body(job, scope, combos, (group[0],), cancel)

    def _body(self, job: Job, scope: Scope, combos: list[dict[str, Any]], held: tuple[str, ...],
              cancel: Cancel) -> str:  # fmt: skip
        """A job's matrix, or the workflow it calls (``held``: its job-level group)."""
        if job.uses:
            from shipway.ci.reusable import run_called

            if combos == [{}]:
                return run_called(self, job, scope, held, cancel)

            def call(index: int, display: str, jscope: Scope, mine: Cancel) -> str:
                key = f"{job.id}-{index}"
                return run_called(self, job, jscope, held, mine, display=display, key=key,
                                  index=index)  # fmt: skip

            return self._run_matrix(job, scope, combos, cancel, call)
        return self._run_matrix(job, scope, combos, cancel)

    def _matrix(self, job: Job, scope: Scope) -> list[dict[str, Any]]:
        if job.strategy is None or job.strategy.matrix is None:
            return [{}]
        return expand(rendered_matrix(job.strategy.matrix, scope))

    def _run_matrix(self, job: Job, scope: Scope, combos: list[dict[str, Any]], cancel: Cancel,
                    call: CallOne | None = None) -> str:  # fmt: skip
        """The job's combinations; ``cancel`` (the run's, or the job group's) stops them all.

        ``call`` runs one combination of a job that calls a reusable workflow."""
        strat = job.strategy
        fail_fast, limit = True, len(combos)
        if strat is not None:
            fail_fast = truthy(render_deep(strat.fail_fast, scope))
            if strat.max_parallel is not None:
                n = to_num(from_json_value(render_deep(strat.max_parallel, scope)))
                limit = max(1, int(n)) if n == n else limit
        siblings = [cancel.child() for _ in combos]
        stop = threading.Event()

        def one(index: int) -> str:
            combo = combos[index]
            matrix = from_json_value(combo)
            jscope = self._job_scope(job, matrix)
            display = self._display(job, matrix, jscope, len(combos) > 1 or bool(combo))
            if stop.is_set() or cancel.event.is_set():
                self._record(job, display, combo, "cancelled", {}, [], index)
                return "cancelled"
            strategy = {"fail-fast": fail_fast, "job-index": float(index),
                        "job-total": float(len(combos)), "max-parallel": float(limit)}  # fmt: skip
            if call is not None:
                result = call(index, display, jscope, siblings[index])
            else:
                result = self._instance(job, index, display, combo, strategy, jscope,
                                        siblings[index])  # fmt: skip
            if result == "failure" and fail_fast:
                stop.set()
                for other in siblings:
                    if other is not siblings[index]:
                        other.cancel()
            return result

        if len(combos) == 1:
            results = [one(0)]
        else:
            with ThreadPoolExecutor(max_workers=limit) as pool:
                results = list(pool.map(one, range(len(combos))))
        if "failure" in results:
            return "failure"
        if "cancelled" in results:
            return "cancelled"
        return "skipped" if all(r == "skipped" for r in results) else "success"

    def _instance(self, job: Job, index: int, display: str, combo: dict[str, Any],
                  strategy: dict[str, Any], jscope: Scope, cancel: Cancel) -> str:  # fmt: skip
        return instance.run(self, job, index, display, combo, strategy, jscope, cancel)

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
