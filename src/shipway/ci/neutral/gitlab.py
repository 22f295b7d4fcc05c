"""GitLab CI into the neutral plan: a planned pipeline compiled, ``$VAR`` and ``rules: if``
read, and GitLab's skip rules.

Pure. ``compile_pipeline(pipe, plan)`` turns the jobs ``gitlab.plan`` added
(``when`` other than ``never``) into nodes: a job with ``needs`` waits for those
instances (``optional`` ones only when added; ``artifacts`` says whether their
artifacts pass on), one without waits for every added job of the earlier
stages. ``GitLabRules`` decides as GitLab does: ``when: manual`` jobs are
manual (not started); a job after a failed job (one whose failure
``allow_failure`` does not let pass) is skipped unless it is ``when: on_failure``
or ``always``; ``on_failure`` jobs are skipped when nothing failed; a canceled
job, or a manual job that does not allow failure, blocks what comes after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipway.ci.gitlab import expr
from shipway.ci.gitlab.model import Pipeline
from shipway.ci.gitlab.plan import Plan as GitLabPlan
from shipway.ci.gitlab.plan import Planned
from shipway.ci.neutral import scheduler as sch
from shipway.ci.neutral.model import Condition, Edge, Node, Plan, Step

STATUS = {"success": sch.SUCCESS, "failed": sch.FAILURE, "skipped": sch.SKIPPED,
          "manual": sch.MANUAL, "canceled": sch.CANCELLED}  # fmt: skip
WORD = {v: k for k, v in STATUS.items()}
MANUAL_JOB = "manual job: not started"
AFTER_FAILURE = "a job before it failed"
NOTHING_FAILED = "when: on_failure and no job before it failed"
BLOCKED = "a job before it was canceled or is a blocking manual job"
RUN_CANCELED = "the pipeline was canceled"


class GitLabEvaluator:
    """``$VAR``/``${VAR}`` expansion and ``rules: if`` expressions."""

    name = "gitlab"

    def render(self, text: str, values: Mapping[str, Any]) -> Any:
        return expr.expand(text, {k: str(v) for k, v in values.items()})

    def holds(self, cond: Condition, values: Mapping[str, Any]) -> bool:
        env = {k: str(v) for k, v in values.items()}
        return expr.evaluate(expr.parse(str(cond.expr)), env)


def _edges(p: Planned, active: list[Planned], pipe: Pipeline, stage_of: dict[str, int],
           names: set[str]) -> list[Edge]:  # fmt: skip
    if p.needs is not None:
        return [Edge(n, "needs", optional=need.optional, artifacts=need.artifacts)
                for need in p.needs for n in need.names(pipe.instances) if n in names]  # fmt: skip
    mine = stage_of.get(p.job.stage, 0)
    return [Edge(q.job.name, "stage") for q in active if stage_of.get(q.job.stage, 0) < mine]


def _condition(p: Planned) -> Condition | None:
    for rule in p.job.rules or []:  # the first rule with an if: (which rule matched is planned)
        if isinstance(rule, dict) and "if" in rule:
            return Condition("gitlab", str(rule["if"]), p.job.where)
    return None


def compile_pipeline(pipe: Pipeline, plan: GitLabPlan, only_job: str | None = None) -> Plan:
    """The jobs ``plan`` added, as nodes in stage order (``only_job``: that job's instances)."""
    active = [p for p in plan.jobs if p.when != "never"]
    if only_job:
        active = [p for p in active if only_job in (p.job.name, p.job.key)]
    names = {p.job.name for p in active}
    stage_of = {s: i for i, s in enumerate(pipe.stages)}
    nodes: dict[str, Node] = {}
    for p in active:
        job = p.job
        art = job.artifacts or {}
        steps = [Step(name=part, where=job.where, run="\n".join(lines))
                 for part, lines in (("before_script", job.before_script), ("script", job.script),
                                     ("after_script", job.after_script)) if lines]  # fmt: skip
        nodes[job.name] = Node(
            id=job.name, name=job.name, where=job.where, kind="job",
            edges=_edges(p, active, pipe, stage_of, names), condition=_condition(p),
            when=p.when, allow_failure=p.allow_failure, allow_exit_codes=job.allow_exit_codes,
            matrix=[job.matrix] if job.matrix else None, retries=job.retry.max,
            timeout=float(job.timeout) if job.timeout else None,
            results=[str(art["reports"]["dotenv"])] if isinstance(art.get("reports"), dict)
            and isinstance(art["reports"].get("dotenv"), str) else [],
            artifacts=dict(art), services=[str(s.get("name")) for s in job.services],
            steps=steps, image=str(job.image["name"]) if job.image else None,
            stage=job.stage, resource_group=job.resource_group, source=p)  # fmt: skip
    return Plan("gitlab", pipe.file, pipe.file, nodes, stages=list(pipe.stages),
                params=dict(pipe.variables))  # fmt: skip


def failed_before(plan: Plan, state: sch.State, node: Node) -> bool:
    """A job ``node`` waits for failed, and its failure is not allowed."""
    return any(state.nodes[p].blocking_failure for p in node.parents if p in state.nodes)


def _blocked(plan: Plan, state: sch.State, node: Node) -> bool:
    for p in node.parents:
        ns = state.nodes.get(p)
        if ns is None:
            continue
        if ns.status == sch.CANCELLED or (ns.status == sch.MANUAL
                                          and not plan.nodes[p].allow_failure):  # fmt: skip
            return True
    return False


class GitLabRules:
    """GitLab's decisions. ``run_manual``: manual jobs run (``shipway ci run --job``)."""

    def __init__(self, run_manual: bool = False) -> None:
        self.run_manual = run_manual

    def verdict(self, plan: Plan, state: sch.State, node: Node) -> sch.Verdict:
        if state.cancelled:
            return sch.Verdict(node.id, "cancel", RUN_CANCELED)
        failed = failed_before(plan, state, node)
        when = node.when
        if when == "manual" and failed and not _blocked(plan, state, node):
            # GitLab offers a manual job only when what it waits for succeeded
            return sch.Verdict(node.id, "skip", AFTER_FAILURE)
        if when == "manual" and not self.run_manual:
            return sch.Verdict(node.id, "manual", MANUAL_JOB)
        if _blocked(plan, state, node):
            return sch.Verdict(node.id, "skip", BLOCKED)
        if when in ("on_success", "delayed", "manual") and failed:
            return sch.Verdict(node.id, "skip", AFTER_FAILURE)
        if when == "on_failure" and not failed:
            return sch.Verdict(node.id, "skip", NOTHING_FAILED)
        return sch.Verdict(node.id, "run")
