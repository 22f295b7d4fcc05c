"""One job instance of a CI run: one matrix combination of a job, run on this machine.

``run`` checks the platform ``runs-on`` names (this machine runs Linux jobs
only, as act does), passes the job's ``environment`` protection rules
(``ci.environments``: reviewers, wait timers, branch policies), issues the
instance its own ``GITHUB_TOKEN`` (logged scopes, expired when it ends), runs
its steps (``ci.job.JobRun``) and puts its record, outputs and environment URL
on the ``Engine`` that runs the workflow. Touches what those modules touch
(the store's tokens and approvals, the step processes); nothing of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipway.ci import environments, tokens
from shipway.ci.container import runs_on_labels, unsupported_label
from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.lexer import ExprError
from shipway.ci.expr.template import render_deep, render_str
from shipway.ci.expr.values import truthy
from shipway.ci.job import JobRun
from shipway.ci.plan import permissions
from shipway.ci.plan.environments import Environment, lookup
from shipway.ci.plan.model import Job
from shipway.runtime.host import Cancel

if TYPE_CHECKING:
    from shipway.ci.engine import Engine


def run(
    eng: Engine,
    job: Job,
    index: int,
    display: str,
    combo: dict[str, Any],
    strategy: dict[str, Any],
    jscope: Scope,
    cancel: Cancel,
) -> str:
    """One instance of ``job`` (one matrix combination) on this machine: the platform its
    ``runs-on`` names, its environment's protection rules, its own token, its steps; the
    instance's record goes on ``eng``; returns its result."""
    matrix = jscope.contexts["matrix"]
    needs = jscope.contexts["needs"]
    key = f"{eng.prefix.replace(' / ', '-').replace(' ', '')}{job.id}-{index}"
    shown = eng.prefix + display
    env, extra = None, {}
    try:  # as act: this machine runs Linux jobs only
        other = unsupported_label(runs_on_labels(render_deep(job.runs_on, jscope)),
                                  eng.info.platforms)  # fmt: skip
    except ExprError as exc:
        eng._log(shown, f"::error::{job.where}: {exc.message}")
        eng._record(job, display, combo, "failure", {}, [], index)
        return "failure"
    if other is not None:
        eng._log(shown, f"Skipping unsupported platform -- Try running with -P {other}=...")
        eng._record(job, display, combo, "skipped", {}, [], index)
        return "skipped"
    if job.environment is not None:
        try:
            env = _environment(eng, job, jscope)
        except ExprError as exc:
            eng._log(shown, f"::error::{job.where}: {exc.message}")
            eng._record(job, display, combo, "failure", {}, [], index)
            return "failure"
        extra["environment"] = {"name": env.name, "url": ""}
        wait = {"id": job.id, "name": shown, "matrix": combo, "result": "", "status": "waiting",
                "outputs": {}, "steps": [], "index": index,
                "environment": dict(extra["environment"])}  # fmt: skip
        gated = environments.gate(eng.store, env, ref=eng.info.ref, run_id=eng.info.run_id,
                                  job_key=key, cancel=cancel, actor=eng.info.actor,
                                  log=lambda line: eng._log(shown, line),
                                  on_wait=lambda on: eng._waiting(job, wait, on))  # fmt: skip
        if gated is not None:
            eng._record(job, display, combo, gated, {}, [], index, extra=extra)
            return gated
    rs = eng.rs if env is None else environments.job_state(eng.rs, env)
    token = tokens.job_token(rs)
    run = JobRun(rs.for_job(token), job, key, shown, matrix, strategy, needs, cancel)
    eng._log(shown, f"started ({eng.wf.file})")
    run.permissions, run.store = _token(eng, job, shown), eng.store
    with tokens.issued(eng.store, token, eng.info.run_id, key, run.permissions):
        result = run.execute()  # the token expires with the job, as on GitHub
    outputs = run.outputs()
    if env is not None:
        extra["environment"]["url"] = _environment_url(eng, job, run.scope(), shown)
    if result == "failure" and truthy(render_deep(job.continue_on_error, jscope)):
        result = "success"
    eng._log(eng.prefix + display, result)
    with eng.lock:
        eng.outputs.setdefault(job.id, {}).update(outputs)
    steps = [r.record() for r in run.results]
    summary = "".join(run.summary)
    eng._record(job, display, combo, result, outputs, steps, index, summary, extra)
    return result


def _environment(eng: Engine, job: Job, scope: Scope) -> Environment:
    spec = job.environment
    name = spec.get("name", "") if isinstance(spec, dict) else spec
    rendered = render_str(str(name), scope)
    if not rendered:
        raise ExprError("the environment name is empty")
    return lookup(eng.info.environments, rendered)


def _environment_url(eng: Engine, job: Job, scope: Scope, shown: str) -> str:
    spec = job.environment
    if not isinstance(spec, dict) or spec.get("url") is None:
        return ""
    try:
        return render_str(str(spec["url"]), scope)
    except ExprError as exc:
        eng._log(shown, f"::warning::environment url: {exc.message}")
        return ""


def _token(eng: Engine, job: Job, shown: str) -> dict[str, str]:
    """Log the job's token scopes as GitHub does; return them."""
    perms = eng.permissions_for(job)
    for line in permissions.log_lines(perms, verbose=eng.info.verbose):
        eng._log(shown, line)
    return perms
