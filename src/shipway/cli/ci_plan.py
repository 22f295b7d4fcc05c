"""``shipway ci plan``: the jobs the workflows of a checkout would run, without running them.

Like ``act -l``: for each workflow that triggers on the event (all of them
without ``--event``), its jobs by stage with needs, runs-on, and matrix
combinations, as a table or ``-o json|yaml``. Reads the checkout; touches
nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shipway.ci.plan.overview import overview
from shipway.ci.plan.triggers import workflow_runs
from shipway.ci.syntax.github import parse_workflow
from shipway.cli import output as out
from shipway.runtime.textfiles import read_text


@click.command("plan")
@click.option("--workflow", "workflow_file", help="Only this workflow file.")
@click.option("--event", help="Only workflows this event triggers (default: every workflow).")
@out.output_option
def plan_cmd(workflow_file: str | None, event: str | None, output: str) -> None:
    """Show the jobs workflows would run, by stage, without running them (like act -l)."""
    from shipway.cli.ci import _default_payload, _git_facts, check_event, selected_workflows

    if event:
        check_event(event)
    root, commit, ref, branch = _git_facts(Path.cwd())
    views: list[dict[str, Any]] = []
    for path, shown in selected_workflows(root, workflow_file):
        wf = parse_workflow(read_text(path, shown), shown)
        if event and not workflow_runs(wf.on, event, _default_payload(event, ref, commit, branch)):
            continue
        views.append(overview(wf))
    if out.emit(views, output):
        return
    rows = [
        (v["file"], j["stage"], j["id"], ",".join(j["needs"]), _runs_on(j), _matrix(j))
        for v in views
        for j in v["jobs"]
    ]
    out.table(["workflow", "stage", "job", "needs", "runs-on", "matrix"], rows)


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
