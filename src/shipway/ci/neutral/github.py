"""GitHub Actions into the neutral plan: a Workflow compiled, ``${{ }}`` and ``if:`` read,
and GitHub's needs failure propagation.

Pure. ``compile_workflow`` turns a parsed ``plan.model.Workflow`` into a
``Plan`` (a node per job; ``needs`` edges; the job's ``if:`` as a ``github``
condition; matrix combinations when written out, the expression when computed
at run time; ``outputs``, ``services``, ``timeout-minutes``). ``GitHubRules``
decides as GitHub does: a job whose ``if`` has no status function means
``success() && (...)``: it is skipped when a job up its needs chain failed or was
cancelled, or a job it needs directly did not succeed; ``always()``,
``failure()`` and ``cancelled()`` look at every job up the chain. Without the
run's contexts the rules decide only the status part and leave the rest of
the ``if`` to the engine (``run``); with them (``contexts``) they decide it all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.template import condition, condition_text, has_expr_within, render
from shipway.ci.neutral import scheduler as sch
from shipway.ci.neutral.model import Condition, Edge, Node, Plan, Step
from shipway.ci.plan.matrix import MatrixError, expand
from shipway.ci.plan.model import Job, Workflow

IF_FALSE = "its 'if' condition is false"
NEEDS_FAILED = "a job it needs did not succeed"
RUN_CANCELLED = "the run was cancelled"


class GitHubEvaluator:
    """``${{ expr }}`` interpolation and ``if:`` conditions; ``values`` are the contexts
    (``github``, ``needs``, ``matrix``...) and, under ``__status__``, a status function."""

    name = "github"

    def render(self, text: str, values: Mapping[str, Any]) -> Any:
        return render(text, _scope(values))

    def holds(self, cond: Condition, values: Mapping[str, Any]) -> bool:
        return condition(cond.expr, _scope(values))


def _scope(values: Mapping[str, Any]) -> Scope:
    contexts = {k: v for k, v in values.items() if k != "__status__"}
    status = values.get("__status__")
    if callable(status):
        return Scope(contexts, status=status)
    return Scope(contexts)


def _matrix(job: Job) -> Any:
    spec = job.strategy.matrix if job.strategy is not None else None
    if spec is None:
        return None
    if has_expr_within(spec) or not isinstance(spec, dict):
        return spec  # computed when the job starts
    try:
        return expand(spec)
    except MatrixError:
        return spec


def _minutes(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) * 60
    return None


def _node(job: Job) -> Node:
    steps = [Step(name=str(s.name), where=s.where, run=s.run, uses=s.uses,
                  condition=Condition("github", s.if_, s.where) if s.if_ not in (None, "")
                  else None, env=dict(s.env), timeout=s.timeout_minutes,
                  on_error="stop" if s.continue_on_error in (False, None) else "continue")
             for s in job.steps]  # fmt: skip
    container = job.container if isinstance(job.container, dict) else None
    image = container.get("image") if container else job.container
    return Node(
        id=job.id, name=job.name or job.id, where=job.where, kind="job",
        edges=[Edge(n, "needs") for n in job.needs],
        condition=Condition("github", job.if_, job.where) if job.if_ is not None else None,
        matrix=_matrix(job), timeout=_minutes(job.timeout_minutes),
        results=list(job.outputs), outputs=dict(job.outputs), services=sorted(job.services),
        steps=steps, image=str(image) if isinstance(image, str) else None,
        allow_failure=job.continue_on_error is True, source=job)  # fmt: skip


def compile_workflow(wf: Workflow, only: list[str] | None = None) -> Plan:
    """The workflow's jobs as a plan, in the file's order (``only``: those, in that order)."""
    jobs = [wf.jobs[j] for j in only] if only is not None else list(wf.jobs.values())
    inputs = [(wf.on.get(e) or {}).get("inputs") for e in ("workflow_call", "workflow_dispatch")
              if isinstance(wf.on.get(e), dict)]  # fmt: skip
    params = {str(k): v for spec in inputs if isinstance(spec, dict) for k, v in spec.items()}
    return Plan("github", wf.file, wf.name, {j.id: _node(j) for j in jobs}, params=params)


def status_function(plan: Plan, state: sch.State, node: Node | None) -> Callable[[str], bool]:
    """``success()``, ``failure()``, ``cancelled()``, ``always()`` for ``node`` (None: the
    workflow level), as GitHub computes them from every job up its needs chain."""
    up = sch.ancestors(plan, node.id) if node is not None else set()
    failed = {n for n in up if state.nodes[n].status == sch.FAILURE}
    stopped = {n for n in up if state.nodes[n].status in (sch.FAILURE, sch.CANCELLED)}
    direct = node is None or all(state.nodes[n].status == sch.SUCCESS for n in node.parents
                                 if n in state.nodes)  # fmt: skip

    def status(name: str) -> bool:
        if name == "always":
            return True
        if name == "cancelled":
            return state.cancelled
        if name == "failure":
            return not state.cancelled and bool(failed)
        return not state.cancelled and direct and not stopped

    return status


def uses_status(cond: Condition | None) -> bool:
    """Whether an ``if:`` calls a status function itself (else it means ``success() && ...``)."""
    if cond is None:
        return False
    try:
        text = condition_text(cond.expr)
    except ExprError:
        return True  # the engine reports it where the job stands
    return not (text == "success()" or text.startswith("success() && ("))


class GitHubRules:
    """GitHub's decisions; ``contexts`` (the run's ``github``, ``vars``, ``inputs``...)
    let them evaluate the whole ``if``, with ``needs`` built from the state."""

    def __init__(self, contexts: Mapping[str, Any] | None = None) -> None:
        self.contexts = contexts

    def verdict(self, plan: Plan, state: sch.State, node: Node) -> sch.Verdict:
        if state.cancelled and node.condition is None:
            return sch.Verdict(node.id, "cancel", RUN_CANCELLED)
        status = status_function(plan, state, node)
        if self.contexts is None:
            if not uses_status(node.condition) and not status("success"):
                return sch.Verdict(node.id, "skip", NEEDS_FAILED)
            return sch.Verdict(node.id, "run")  # the engine evaluates the rest of the if
        needs = {n: {"result": state.nodes[n].status, "outputs": state.nodes[n].results}
                 for n in node.parents if n in state.nodes}  # fmt: skip
        values = {**self.contexts, "needs": needs, "__status__": status}
        cond = node.condition or Condition("github", None)
        try:
            ok = GitHubEvaluator().holds(cond, values)
        except ExprError:
            return sch.Verdict(node.id, "run")  # the engine fails the job with the error
        return sch.Verdict(node.id, "run" if ok else "skip", "" if ok else IF_FALSE)
