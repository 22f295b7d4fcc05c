"""``uses:`` steps: native actions, local and cached actions (composite, node, docker).

Resolution: a native implementation when shipway has one; ``./path`` in the
workspace; otherwise ``<action cache>/<owner>/<repo>@<ref>[/<path>]``, fetched
from the run's git source on a miss (``shipway.ci.remote``). A remote action
that cannot be had fails with an error naming it, why, and how to vendor it.
JavaScript actions run with the host's node, or inside the job container
when the job has one (``shipway.ci.nodejs``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.ci import nodejs, remote
from shipway.ci.actions import (
    ActionContext,
    ActionFailed,
    native,
    native_inputs,
    unexpected_inputs,
)
from shipway.ci.executors import input_env, run_docker_action
from shipway.ci.expr.template import render_deep, render_str
from shipway.ci.expr.values import from_json_value, to_str
from shipway.ci.plan.model import Step
from shipway.ci.plan.refs import RefError, RemoteUses, parse_uses
from shipway.ci.remote import RemoteError
from shipway.ci.syntax.action import ActionDef, parse_action
from shipway.model.errors import CIError, InputError
from shipway.runtime.textfiles import read_text

if TYPE_CHECKING:
    from shipway.ci.job import JobRun


class Unavailable(Exception):
    pass


def action_dir(job: JobRun, uses: str) -> Path:
    """The directory holding ``action.yml`` for ``uses``; raise ``Unavailable``."""
    if uses.startswith("./"):
        path = (job.workspace / uses).resolve()
        if not path.is_dir():
            raise Unavailable(
                f"local action {uses!r} not found in the workspace (did a step run "
                "actions/checkout first?)"
            )
        return path
    try:
        ref = parse_uses(uses)
    except RefError as exc:
        raise Unavailable(str(exc)) from None
    token = str(job.rs.secrets_ctx.get("GITHUB_TOKEN") or "")
    try:
        root = remote.ensure(job.rs.info, ref, token, log=job.log)
    except RemoteError as exc:
        raise Unavailable(unavailable(uses, ref, str(exc), job.rs.info.action_cache)) from None
    path = root / ref.path if ref.path else root
    if not path.is_dir():
        raise Unavailable(f"action {uses!r}: no directory {ref.path!r} in {ref.repo}@{ref.ref}")
    return path


def unavailable(uses: str, ref: RemoteUses, reason: str, cache: Path | None) -> str:
    """Why a remote action cannot be had, and how to vendor it."""
    where = str(cache) if cache else "$SHIPWAY_HOME/actions"
    return (
        f"action {uses!r} is not available: {reason}. shipway runs native actions "
        "(actions/checkout, actions/cache, actions/upload-artifact, actions/download-artifact, "
        "actions/setup-python, actions/setup-node, docker/*), local actions (uses: ./path), "
        "actions fetched from the git source and vendored ones; vendor it with `git clone "
        f"https://github.com/{ref.repo} {where}/{ref.cache_entry}` (checked out at that ref) "
        "or copy it into the repository and use `uses: ./path`"
    )


def load_action(path: Path) -> ActionDef:
    for name in ("action.yml", "action.yaml"):
        if (path / name).is_file():
            return parse_action(read_text(path / name), str(path / name))
    if (path / "Dockerfile").is_file():
        return ActionDef(file=str(path / "Dockerfile"), name=path.name, using="docker",
                         runs={"using": "docker", "image": "Dockerfile"})  # fmt: skip
    raise Unavailable(f"no action.yml in {path}")


def _inputs(
    job: JobRun, action: ActionDef, given: dict[str, str], env_ctx: dict[str, str]
) -> dict[str, Any]:
    scope = job.scope(env_ctx)
    values: dict[str, Any] = {}
    for name, decl in action.inputs.items():
        if name in given:
            values[name] = given[name]
        elif "default" in decl:
            values[name] = to_str(from_json_value(render_deep(decl["default"], scope)))
        else:
            if decl.get("required"):
                job.log(f"::warning::input {name!r} is required by {action.name} but not given")
            values[name] = ""
    _warn_inputs(job, unexpected_inputs(list(given), list(action.inputs)))
    for name, value in given.items():
        values.setdefault(name, value)
    return values


def run_uses(
    job: JobRun,
    step: Step,
    env_ctx: dict[str, str],
    proc_env: dict[str, str],
    outputs: dict[str, str],
    timeout: float,
) -> str:
    uses = step.uses or ""
    scope = job.scope(env_ctx)
    given = {str(k): to_str(from_json_value(v)) for k, v in render_deep(step.with_, scope).items()}
    impl = native(uses)
    if impl is not None:
        _warn_inputs(job, unexpected_inputs(list(given), native_inputs(uses)))
        return _run_native(job, impl, given, proc_env, outputs)
    try:
        path = action_dir(job, uses)
        action = load_action(path)
    except (Unavailable, InputError) as exc:
        job.log(f"::error::{exc}")
        return "failure"
    inputs = _inputs(job, action, given, env_ctx)
    if action.using == "composite":  # its run steps may be exec-ed in the job container
        return _run_composite(job, action, visible(job, path), inputs, outputs, env_ctx)
    if action.using.startswith("node"):
        return _run_node(job, action, path, inputs, proc_env, timeout)
    return run_docker_action(job, action, path, inputs, proc_env, timeout)


def _warn_inputs(job: JobRun, warning: str | None) -> None:
    """GitHub's warning (log line and annotation) for inputs an action does not have."""
    if warning:
        job.log(f"::warning::{warning}")
        job.rs.annotate("warning", warning, {}, job.display)


def _run_native(job: JobRun, impl: Any, inputs: dict[str, str], proc_env: dict[str, str],
                outputs: dict[str, str]) -> str:  # fmt: skip
    ctx = ActionContext(inputs=inputs, workspace=job.workspace, temp=job.temp, info=job.rs.info,
                        env=proc_env, log=job.log, job=job)  # fmt: skip
    try:
        impl(ctx)
    except ActionFailed as exc:
        job.log(f"::error::{exc}")
        return "failure"
    finally:
        for secret in ctx.secrets:
            job.rs.masker.add(secret)
    outputs.update(ctx.outputs)
    job.exported.update(ctx.exported)
    job.env_ctx.update(ctx.exported)
    job.paths[:0] = ctx.paths
    return "success"


def _run_composite(job: JobRun, action: ActionDef, path: Path, inputs: dict[str, Any],
                   outputs: dict[str, str], env_ctx: dict[str, str]) -> str:  # fmt: skip
    outer = job.step_name
    with job.frame(inputs, path, env_ctx):
        for inner in action.steps:
            job.run_step(inner, prefix=f"{outer} / ")
        failed = job.failed
        scope = job.scope()
        for name, decl in action.outputs.items():
            outputs[name] = render_str(str(decl.get("value", "")), scope)
    return "failure" if failed else "success"


def _run_node(job: JobRun, action: ActionDef, path: Path, inputs: dict[str, Any],
              proc_env: dict[str, str], timeout: float) -> str:  # fmt: skip
    try:
        node = nodejs.node_for(job, action.name, proc_env.get("PATH"))
    except CIError as exc:
        job.log(f"::error::{exc}")
        return "failure"
    path = visible(job, path)
    host_only = not nodejs.in_container(job)
    state = {f"STATE_{k}": v for k, v in job.state.items()}
    env = {**proc_env, **state, **input_env(inputs), "GITHUB_ACTION_PATH": str(path)}
    main = path / str(action.runs["main"])
    status = job.run_process([node, str(main)], job.workspace, env, timeout, host_only=host_only)
    post = action.runs.get("post")
    if post:
        post_if = str(action.runs.get("post-if") or "always()")

        def run_post() -> str:
            if not job.condition(post_if):
                return "skipped"
            state = {f"STATE_{k}": v for k, v in job.state.items()}
            return job.run_process([node, str(path / str(post))], job.workspace,
                                   {**env, **state}, job.remaining(),
                                   host_only=host_only)  # fmt: skip

        job.post.append((f"Post {action.name}", run_post))
    return status


def visible(job: JobRun, path: Path) -> Path:
    """``path`` as the job container sees it: actions outside the run directory are copied in.

    The run directory is mounted at the same path (as the runner's ``_actions``).
    """
    base = job.rs.info.base_dir.resolve()
    real = path.resolve()
    if not nodejs.in_container(job) or real.is_relative_to(base):
        return path
    cache = job.rs.info.action_cache
    rel = (
        real.relative_to(cache.resolve())
        if cache and real.is_relative_to(cache.resolve())
        else Path(real.name)
    )
    dest = base / "_actions" / rel
    if not dest.is_dir():
        tmp = dest.parent / f".tmp-{dest.name}-{job.key}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(real, tmp, symlinks=True)
        try:
            os.rename(tmp, dest)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def run_pre_steps(job: JobRun) -> None:
    """``runs.pre`` of vendored node actions, before any step (as GitHub runs them).

    Local actions (``./path``) have no pre step: they are not checked out yet.
    """
    for step in job.job.steps:
        uses = step.uses or ""
        if not uses or uses.startswith(("./", "docker://")) or native(uses) is not None:
            continue
        try:
            path = action_dir(job, uses)
            action = load_action(path)
        except (Unavailable, InputError):
            continue  # reported when the step itself runs
        pre = action.runs.get("pre")
        if not pre or not action.using.startswith("node"):
            continue
        job.step_name = f"Pre {action.name}"
        if not job.condition(str(action.runs.get("pre-if") or "always()")):
            continue
        try:
            node = nodejs.node_for(job, action.name, job.rs.base_env.get("PATH"))
        except CIError as exc:
            job.log(f"::error::{exc}")
            job.failed = True
            continue
        path = visible(job, path)
        scope = job.scope()
        given = {str(k): to_str(from_json_value(v))
                 for k, v in render_deep(step.with_, scope).items()}  # fmt: skip
        files = job.fresh_files()
        env = {**job.process_env(job.env_ctx, files),
               **input_env(_inputs(job, action, given, job.env_ctx)),
               "GITHUB_ACTION_PATH": str(path)}  # fmt: skip
        if job.run_process([node, str(path / str(pre))], job.workspace, env, job.remaining(),
                           host_only=not nodejs.in_container(job)) == "failure":  # fmt: skip
            job.failed = True
        job.read_files(files, {})
    job.step_name = ""
