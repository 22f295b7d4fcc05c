"""``shipway ci run|resume|approve|approvals``: run GitHub Actions workflows here (``ci list``
and ``ci logs`` read stored runs from ``shipway.cli.lists``)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click

from shipway.ci.plan.model import Workflow
from shipway.ci.plan.triggers import workflow_runs
from shipway.ci.runinfo import RunInfo
from shipway.ci.service import (
    checkout,
    new_run_id,
    origin_repository,
    resume_run,
    run_workflow,
    shared_dirs,
    workflow_files,
)
from shipway.ci.syntax.github import EVENTS, parse_workflow
from shipway.cli import output as out
from shipway.cli import remote
from shipway.cli.ci_gitlab import run_gitlab, wants_gitlab
from shipway.cli.ci_kube import kube_options, kube_settings
from shipway.cli.context import state_from, store_from
from shipway.cli.lists import ci
from shipway.git.repo import git
from shipway.model import bounded
from shipway.model.errors import GitError, InputError, NotFoundError
from shipway.runtime.host import Cancel, cancel_on_signals
from shipway.runtime.textfiles import read_text
from shipway.settings import Settings


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"--{what} expects NAME=VALUE, got {item!r}")
        found[name] = value
    return found


def _secret_file(path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise InputError("expected NAME=VALUE", file=path, line=n)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name.strip()] = value
    return found


def _default_payload(event: str, ref: str, commit: str, branch: str) -> dict[str, Any]:
    if event.startswith("pull_request"):
        return {"action": "opened", "number": 1,
                "pull_request": {"number": 1, "head": {"ref": branch, "sha": commit},
                                 "base": {"ref": "main"}}}  # fmt: skip
    return {"ref": ref, "after": commit, "before": "0" * 40, "head_commit": {"id": commit}}


def check_event(event: str) -> None:
    """``--event`` must name an event GitHub has."""
    if event not in EVENTS:
        raise InputError(f"unknown event {event!r}: GitHub has no such event (known: "
                         f"{', '.join(sorted(EVENTS))})", subject="--event")  # fmt: skip


def _git_facts(cwd: Path) -> tuple[Path, str, str, str]:
    try:
        root = Path(git(["rev-parse", "--show-toplevel"], cwd).strip())
        commit = git(["rev-parse", "HEAD"], root).strip()
    except GitError:
        raise InputError(
            "shipway ci run works inside a git checkout with at least one commit",
            subject=str(cwd),
        ) from None
    try:
        branch = git(["symbolic-ref", "--short", "HEAD"], root).strip()
    except GitError:
        branch = "main"
    return root, commit, f"refs/heads/{branch}", branch


def selected_workflows(root: Path, workflow_file: str | None) -> list[tuple[Path, str]]:
    """The workflow files to consider (one given, or all), each with its repo-relative name."""
    if workflow_file:
        files = [Path(workflow_file)]
        if not files[0].is_file():
            raise NotFoundError(f"workflow file {workflow_file!r} not found", subject=workflow_file)
    else:
        files = workflow_files(root)
    out = []
    for path in files:
        resolved = path.resolve()
        out.append((path, str(resolved.relative_to(root)) if resolved.is_relative_to(root)
                    else str(path)))  # fmt: skip
    return out


def _uses_docker(wf: Workflow) -> bool:
    return any(
        step.run is not None and "docker " in step.run
        for job in wf.jobs.values()
        for step in job.steps
    )


def _docker_env(settings: Settings) -> dict[str, str]:
    """DOCKER_HOST on podman's Docker API (and the registry-alias shim) for `docker` steps."""
    import os

    from shipway.runtime import docker_api

    aliases = docker_api.parse_aliases(os.environ.get("SHIPWAY_REGISTRY_ALIASES", ""))
    from shipway.runtime.podman_env import insecure_registries

    env, dirs = docker_api.step_env(settings, aliases, insecure_registries())
    if dirs:
        env["PATH"] = os.pathsep.join([*dirs, os.environ.get("PATH", os.defpath)])
    return env


@ci.command("run")
@click.option(
    "--workflow", "workflow_file", help="Run this workflow file (default: all that match)."
)
@click.option(
    "-f", "--filename", "filenames", multiple=True,
    help="Tekton resources (TaskRun, PipelineRun and the Tasks, Pipelines, StepActions they "
    "name) to run instead of workflows; repeatable, - for stdin.",
)  # fmt: skip
@click.option("--param", "tekton_params", multiple=True, help="NAME=VALUE for a Tekton param.")
@click.option(
    "--workspace", "tekton_workspaces", multiple=True,
    help="NAME=DIR: bind a Tekton workspace to a host directory.",
)  # fmt: skip
@click.option("--event", default="push", show_default=True, help="The event name.")
@click.option("--event-payload", type=click.Path(exists=True, dir_okay=False), help="Event JSON.")
@click.option("--job", "job_id", help="Run only this job (and the jobs it needs).")
@click.option("--secret", multiple=True, help="NAME=VALUE, repeatable.")
@click.option(
    "--secret-file", type=click.Path(exists=True, dir_okay=False), help="NAME=VALUE lines."
)
@click.option("--var", multiple=True, help="NAME=VALUE for the vars context, repeatable.")
@click.option(
    "--input",
    "input_pairs",
    multiple=True,
    help="NAME=VALUE for a workflow_dispatch input (github.event.inputs), repeatable.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show the GITHUB_TOKEN Permissions group in full."
)
@click.option(
    "--commit",
    "as_committed",
    is_flag=True,
    help="Run HEAD as committed (default: the working tree, uncommitted changes included).",
)
@click.option(
    "--keep-workspace",
    is_flag=True,
    help="Keep the jobs' workspaces under $SHIPWAY_HOME/work/ci/RUN after the run.",
)
@click.option(
    "-P",
    "--platform",
    "platform_pairs",
    multiple=True,
    help="LABEL=IMAGE: run jobs whose runs-on has LABEL in IMAGE (-self-hosted: on the host).",
)
@click.option(
    "--executor",
    type=click.Choice(["host", "podman", "kubernetes"]),
    default="host",
    show_default=True,
)
@click.option(
    "--environments", "environments_file", type=click.Path(dir_okay=False),
    help="YAML file defining deployment environments (vars, secrets, protection rules).",
)  # fmt: skip
@click.option(
    "--default-permissions", type=click.Choice(["permissive", "restricted"]),
    default="permissive", show_default=True,
    help="GITHUB_TOKEN scopes of jobs whose workflow sets no 'permissions'.",
)  # fmt: skip
@click.option(
    "--actor",
    default="shipway",
    show_default=True,
    help="github.actor: who triggered the run (preventSelfReview refuses them).",
)
@kube_options
@click.option(
    "--git-url",
    envvar="SHIPWAY_GIT_URL",
    default="",
    help="Base URL of other owner/name repositories (checkout, remote actions, called "
    "workflows), e.g. git://host or https://forge [env: SHIPWAY_GIT_URL].",
)
@click.option(
    "--gitlab", "as_gitlab", is_flag=True,
    help="Run the checkout's .gitlab-ci.yml (the default when the checkout has one).",
)  # fmt: skip
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
    help="GitLab CI: how many jobs run at once (needs and resource_group order them).",
)  # fmt: skip
@out.output_option
@click.pass_context
def run_cmd(
    ctx: click.Context,
    workflow_file: str | None,
    filenames: tuple[str, ...],
    tekton_params: tuple[str, ...],
    tekton_workspaces: tuple[str, ...],
    event: str,
    event_payload: str | None,
    job_id: str | None,
    secret: tuple[str, ...],
    secret_file: str | None,
    var: tuple[str, ...],
    input_pairs: tuple[str, ...],
    verbose: bool,
    as_committed: bool,
    keep_workspace: bool,
    platform_pairs: tuple[str, ...],
    executor: str,
    git_url: str,
    environments_file: str | None,
    default_permissions: str,
    actor: str,
    output: str,
    kubeconfig: str | None,
    kube_context: str | None,
    namespace: str | None,
    cluster: str | None,
    kube_pvc: str | None,
    kube_pod_template: str | None,
    as_gitlab: bool = False,
    concurrency: int = 1,
) -> None:
    """Run workflows of the current git checkout (GitHub Actions, or the GitLab CI pipeline
    of .gitlab-ci.yml), or Tekton runs (-f); logs stream to stderr."""
    if filenames:
        from shipway.cli.ci_tekton import run_tekton

        kube = kube_settings(state_from(ctx).store, executor, kubeconfig, kube_context,
                             namespace, cluster, kube_pvc, kube_pod_template)  # fmt: skip
        run_tekton(ctx, filenames, tekton_params, tekton_workspaces, executor, keep_workspace,
                   output, kube)  # fmt: skip
        return
    if tekton_params or tekton_workspaces:
        raise InputError("--param and --workspace are for Tekton runs (-f RUN.yaml)",
                         subject="--param" if tekton_params else "--workspace")  # fmt: skip
    environments = _environments(environments_file)
    root, commit, ref, branch = _git_facts(Path.cwd())
    secrets = _secret_file(secret_file) if secret_file else {}
    secrets.update(_pairs(secret, "secret"))
    variables = _pairs(var, "var")
    if event_payload:
        payload = bounded.load_json(read_text(event_payload), event_payload)
        if not isinstance(payload, dict):
            raise InputError("the event payload must be a JSON object", file=event_payload)
        ref = str(payload.get("ref") or ref)
    else:
        payload = _default_payload(event, ref, commit, branch)
    if input_pairs:
        given = payload.get("inputs")
        payload["inputs"] = {**(given if isinstance(given, dict) else {}),
                             **_pairs(input_pairs, "input")}  # fmt: skip
    check_event(event)
    state = state_from(ctx)
    repository = origin_repository(root)
    worktree: Path | None = root
    if as_committed:
        source = checkout(str(root), commit, state.settings.work_dir / "ci" / f"src-{new_run_id()}")
        note = f"Running commit {commit} as committed (--commit)"
        if workflow_file:
            workflow_file = str(source / Path(workflow_file).resolve().relative_to(root))
        root, worktree = source, None
    else:
        dirty = git(["status", "--porcelain"], root).strip()
        note = f"Running the working tree of {root} at {commit[:12]}, " + (
            "uncommitted changes included" if dirty else "no uncommitted changes"
        )
    if wants_gitlab(root, workflow_file, as_gitlab):
        kube = kube_settings(state.store, executor, kubeconfig, kube_context, namespace,
                             cluster, kube_pvc, kube_pod_template)  # fmt: skip
        _gitlab(root, commit, branch, workflow_file, _pairs(var, "var"), job_id, executor,
                state, output, as_committed and not keep_workspace, concurrency,
                kube)  # fmt: skip
        return
    files = selected_workflows(root, workflow_file)
    store = state.store
    records: list[dict[str, Any]] = []
    kube = kube_settings(store, executor, kubeconfig, kube_context, namespace, cluster, kube_pvc,
                         kube_pod_template)  # fmt: skip
    cancel = Cancel()
    with cancel_on_signals(cancel, _say):
        for path, shown in files:
            if cancel.signal is not None:
                break
            wf = parse_workflow(read_text(path, shown), shown)
            if not workflow_file and not workflow_runs(wf.on, event, payload):
                continue
            run_id = new_run_id()
            extra_env = _docker_env(state.settings) if _uses_docker(wf) else {}
            info = RunInfo(run_id=run_id, repo=str(root), commit=commit, ref=ref, event=event,
                           payload=payload, base_dir=state.settings.work_dir / "ci" / run_id,
                           vars=variables, secrets=secrets, job_filter=job_id, executor=executor,
                           platforms=_pairs(platform_pairs, "platform"),
                           keep_workspace=keep_workspace,
                           env=extra_env, git_url=git_url,
                           on_line=lambda line: print(line, file=sys.stderr, flush=True),
                           workflow_ref=f"{shown}@{ref}", source_dir=root,
                           action_cache=shared_dirs()[0], cache_dir=shared_dirs()[1],
                           environments=environments or {}, repository=repository,
                           worktree=worktree, note=note, verbose=verbose,
                           token_default=default_permissions, actor=actor,
                           cancel=cancel.child())  # fmt: skip
            info.kube = kube
            records.append(run_workflow(store, wf, info))
    if as_committed and not keep_workspace:  # the runs are stored; their checkout can go
        shutil.rmtree(root, ignore_errors=True)
    if not records:
        out.stderr.print(f"no workflow triggers on {event!r}")
    if out.emit(records[0] if len(records) == 1 else records, output, name="run") is False:
        for r in records:
            click.echo(f"{r['id']}  {r['workflow']}  {r['conclusion']}")
    if cancel.signal is not None:
        raise SystemExit(128 + cancel.signal)
    if any(r["conclusion"] != "success" for r in records):
        raise SystemExit(1)


def _gitlab(root: Path, commit: str, branch: str, workflow_file: str | None,
            variables: dict[str, str], job_id: str | None, executor: str, state: Any,
            output: str, drop_checkout: bool, concurrency: int = 1,
            kube: dict[str, Any] | None = None) -> None:  # fmt: skip
    cancel = Cancel()
    with cancel_on_signals(cancel, _say):
        record = run_gitlab(root, commit, branch, workflow_file, variables, job_id, executor,
                            state.settings, state.store, new_run_id(), _say,
                            cancel.child(), concurrency, kube)  # fmt: skip
    if drop_checkout:
        shutil.rmtree(root, ignore_errors=True)
    if out.emit(record, output, name="run") is False:
        click.echo(f"{record['id']}  {record['workflow']}  {record['conclusion']}")
        for j in record["jobs"]:
            click.echo(f"  {j['name']}  {j['status']}")
    if cancel.signal is not None:
        raise SystemExit(128 + cancel.signal)
    if record["conclusion"] not in ("success", "skipped"):
        raise SystemExit(1)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@ci.command("resume")
@click.argument("run_id")
@click.option("--secret", multiple=True, help="NAME=VALUE, repeatable (secrets are not stored).")
@click.option(
    "--secret-file", type=click.Path(exists=True, dir_okay=False), help="NAME=VALUE lines."
)
@click.option("--environments", "environments_file", type=click.Path(dir_okay=False),
              help="The environments file the run used (its secrets are not stored).")  # fmt: skip
@out.output_option
@click.pass_context
def resume_cmd(
    ctx: click.Context,
    run_id: str,
    secret: tuple[str, ...],
    secret_file: str | None,
    environments_file: str | None,
    output: str,
) -> None:
    """Finish a run whose process stopped; jobs that completed are not run again."""
    secrets = _secret_file(secret_file) if secret_file else {}
    secrets.update(_pairs(secret, "secret"))
    with cancel_on_signals(Cancel(), _say) as cancel:
        record = resume_run(store_from(ctx), run_id, secrets=secrets,
                            on_line=lambda line: print(line, file=sys.stderr, flush=True),
                            environments=_environments(environments_file),
                            cancel=cancel.child())  # fmt: skip
    if not out.emit(record, output, name="run"):
        click.echo(f"{record['id']}  {record['workflow']}  {record['conclusion']}")
    if cancel.signal is not None:
        raise SystemExit(128 + cancel.signal)
    if record["conclusion"] != "success":
        raise SystemExit(1)


def _environments(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    from shipway.ci.environments import load_file

    return dict(load_file(Path(path)))


@ci.command("approve")
@click.argument("run_id")
@click.option("--environment", "environment", required=True, help="The environment to review.")
@click.option("--reject", is_flag=True, help="Reject: the waiting jobs fail.")
@click.option("--comment", default="", help="A note kept with the decision.")
@click.option("--reviewer", default="",
              help="Who decides, on the local store only (trusted-local; default: $USER). "
              "Through a controller the reviewer is the logged-in account.")  # fmt: skip
@remote.server_option
@out.data_output_option
@click.pass_context
def approve_cmd(
    ctx: click.Context,
    run_id: str,
    environment: str,
    reject: bool,
    comment: str,
    reviewer: str,
    server: str | None,
    output: str,
) -> None:
    """Approve (or reject) the jobs of RUN waiting for a review of an environment.

    Only a reviewer the environment lists may decide (exit 4 otherwise), and
    with preventSelfReview not the run's actor.
    """
    import getpass

    from shipway.ci.environments import decide

    t = remote.target(ctx, server)
    if t is not None:
        if reviewer:
            raise InputError("--reviewer is refused through a controller: the reviewer is the "
                             "account you are logged in as", subject="--reviewer")  # fmt: skip
        body = {"environment": environment, "reject": reject, "comment": comment}
        decided = remote.call(t, "POST", f"/api/ci/runs/{run_id}/approve", json=body).json()
    else:
        who = reviewer or getpass.getuser()
        decided = decide(store_from(ctx), run_id, environment, not reject, who, comment)
    if out.emit(decided, output):
        return
    verb = "rejected" if reject else "approved"
    for d in decided:
        out.stderr.print(f"ci run {d['run']}: job {d['job']} {verb} for {d['environment']}")


@ci.command("approvals")
@click.argument("run_id", required=False)
@remote.server_option
@out.list_options
@click.pass_context
def approvals_cmd(ctx: click.Context, /, run_id: str | None, server: str | None, **_: Any) -> None:
    """List the jobs waiting for a review (of RUN, or of every run)."""
    from shipway.store import ci_coord

    t = remote.target(ctx, server)
    waiting = (remote.get_json(t, "/api/ci/approvals", run=run_id) if t is not None
               else ci_coord.waiting(store_from(ctx), run_id))  # fmt: skip
    found = [{k: w[k] for k in ("run", "job", "environment", "since", "reviewers",
                                "preventSelfReview", "actor")}
             for w in waiting]  # fmt: skip
    headers = ["run", "job", "environment", "age", "reviewers"]
    out.report(found, out.Options.of(ctx), name=lambda w: f"approval/{w['run']}/{w['job']}",
               table=out.rows_table(headers, _approval_row))  # fmt: skip


def _approval_row(w: dict[str, Any]) -> list[Any]:
    from shipway.cli.list_views import age_cell

    return [w["run"], w["job"], w["environment"], age_cell(w["since"]), ", ".join(w["reviewers"])]
