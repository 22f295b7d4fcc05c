"""What a workflow would run, without running it (``shipway ci plan``, like ``act -l``).

Jobs in the order they can start (stage 0 needs nothing, stage N needs jobs of
earlier stages), each with its ``needs``, ``runs-on``, the reusable workflow
it calls, its step names, and its matrix combinations when the matrix is
written out (a matrix read from an expression, such as ``fromJSON(needs…)``,
is only known at run time and says so). Pure: a parsed ``Workflow`` in, data
out.
"""

from __future__ import annotations

from typing import Any

from shipway.ci.expr.template import has_expr_within
from shipway.ci.plan.matrix import MatrixError, expand
from shipway.ci.plan.model import Job, Workflow


def stages(workflow: Workflow) -> dict[str, int]:
    """Each job's stage: one more than the latest stage among the jobs it needs."""
    out: dict[str, int] = {}

    def stage(jid: str, seen: frozenset[str]) -> int:
        if jid in out:
            return out[jid]
        needs = [n for n in workflow.jobs[jid].needs if n in workflow.jobs and n not in seen]
        out[jid] = 1 + max((stage(n, seen | {jid}) for n in needs), default=-1)
        return out[jid]

    for jid in workflow.jobs:
        stage(jid, frozenset())
    return out


def _matrix(job: Job) -> dict[str, Any]:
    spec = job.strategy.matrix if job.strategy is not None else None
    if spec is None:
        return {"combinations": None}
    if has_expr_within(spec) or not isinstance(spec, dict):
        return {"combinations": None, "matrix": "computed when the job starts"}
    try:
        combos = expand(spec)
    except MatrixError as exc:
        return {"combinations": None, "matrix": f"invalid: {exc}"}
    return {"combinations": combos}


def job_overview(job: Job, stage: int) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name or job.id,
        "stage": stage,
        "needs": list(job.needs),
        "runs_on": job.runs_on,
        "uses": job.uses,
        "if": job.if_,
        "container": job.container,
        "services": sorted(job.services),
        "environment": job.environment,
        "steps": [s.name for s in job.steps],
        **_matrix(job),
    }


def overview(workflow: Workflow) -> dict[str, Any]:
    """The workflow's jobs by stage, for rendering as a table or as JSON."""
    order = stages(workflow)
    jobs = sorted(workflow.jobs.values(), key=lambda j: (order[j.id], j.id))
    return {
        "workflow": workflow.name,
        "file": workflow.file,
        "events": sorted(workflow.on),
        "jobs": [job_overview(j, order[j.id]) for j in jobs],
    }
