"""``shipway ci plan``: the jobs the workflows of a checkout would run, without running them.

Like ``act -l``: for each workflow that triggers on the event (all of them
without ``--event``), its jobs by stage with needs, runs-on, and matrix
combinations, as a table or ``-o json|yaml``; each workflow's ``plan`` is the
format-neutral plan (``ci.neutral``) the scheduler runs. With ``-f FILE`` the
Tekton runs (or Pipelines and Tasks) of the files, and on a checkout with
``.gitlab-ci.yml`` (or ``--gitlab``) the GitLab pipeline as planned for the
checkout's commit, are shown as neutral plans. Reads the checkout and the
files; touches nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shipway.ci.neutral import github, gitlab, tekton
from shipway.ci.neutral.model import Plan, to_data
from shipway.ci.plan.overview import overview
from shipway.ci.plan.triggers import workflow_runs
from shipway.ci.syntax.github import parse_workflow
from shipway.cli import output as out
from shipway.runtime.textfiles import read_text


@click.command("plan")
@click.option("--workflow", "workflow_file", help="Only this workflow file.")
@click.option("--event", help="Only workflows this event triggers (default: every workflow).")
@click.option(
    "-f",
    "--filename",
    "filenames",
    multiple=True,
    help="Tekton files: plan their TaskRuns and PipelineRuns (or Pipelines, Tasks).",
)
@click.option(
    "--gitlab",
    "as_gitlab",
    is_flag=True,
    help="Plan the checkout's .gitlab-ci.yml (the default when the checkout has one).",
)
@click.option("--var", multiple=True, help="KEY=VALUE: a GitLab pipeline variable.")
@out.data_output_option
def plan_cmd(workflow_file: str | None, event: str | None, filenames: tuple[str, ...],
             as_gitlab: bool, var: tuple[str, ...], output: str) -> None:  # fmt: skip
    """Show the jobs workflows would run, by stage, without running them (like act -l)."""
    from shipway.cli.ci import _default_payload, _git_facts, check_event, selected_workflows

    if filenames:
        _neutral([to_data(p) for p in _tekton_plans(filenames)], output)
        return
    if event:
        check_event(event)
    root, commit, ref, branch = _git_facts(Path.cwd())
    from shipway.cli.ci_gitlab import plan_gitlab, wants_gitlab

    if wants_gitlab(root, workflow_file, as_gitlab):
        from shipway.cli.ci import _pairs

        pipe, planned, _facts = plan_gitlab(root, commit, branch, workflow_file,
                                            _pairs(var, "var"))  # fmt: skip
        _neutral([to_data(gitlab.compile_pipeline(pipe, planned))] if planned.created else [],
                 output)  # fmt: skip
        return
    views: list[dict[str, Any]] = []
    for path, shown in selected_workflows(root, workflow_file):
        wf = parse_workflow(read_text(path, shown), shown)
        if event and not workflow_runs(wf.on, event, _default_payload(event, ref, commit, branch)):
            continue
        views.append({**overview(wf), "plan": to_data(github.compile_workflow(wf))})
    if out.emit(views, output):
        return
    rows = [
        (v["file"], j["stage"], j["id"], ",".join(j["needs"]), _runs_on(j), _matrix(j))
        for v in views
        for j in v["jobs"]
    ]
    out.table(["workflow", "stage", "job", "needs", "runs-on", "matrix"], rows)


def _tekton_plans(filenames: tuple[str, ...]) -> list[Plan]:
    import sys

    from shipway.ci.tekton.load import load

    files = [(sys.stdin.read() if f == "-" else read_text(f, f), f) for f in filenames]
    return tekton.compile_bundle(load(files))


def _neutral(plans: list[dict[str, Any]], output: str) -> None:
    """Neutral plans as data, or a table of their nodes in run order."""
    if out.emit(plans, output):
        return
    rows = [
        (p["file"], n["stage"] or n["kind"], n["id"], ",".join(e["node"] for e in n["needs"]),
         n["when"], _cond(n["condition"]), len(n["steps"]))
        for p in plans
        for n in p["nodes"]
    ]  # fmt: skip
    out.table(["file", "stage", "node", "needs", "when", "condition", "steps"], rows)


def _cond(cond: dict[str, Any] | None) -> str:
    if cond is None:
        return ""
    expr = cond["expr"]
    return expr if isinstance(expr, str) else json.dumps(expr)


def _runs_on(job: dict[str, Any]) -> str:
    if job["uses"]:
        return f"(calls {job['uses']})"
    value = job["runs_on"]
    return ",".join(map(str, value)) if isinstance(value, list) else json.dumps(value).strip('"')


def _matrix(job: dict[str, Any]) -> str:
    if job["combinations"] is not None:
        return f"{len(job['combinations'])} combinations"
    return str(job.get("matrix", ""))


def register() -> None:
    """Attach ``plan`` to ``shipway ci``."""
    from shipway.cli.lists import ci

    ci.add_command(plan_cmd)
