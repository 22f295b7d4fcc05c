"""Deployment environments at run time: load definitions, apply protection rules to a job.

``load_file`` reads an environments file (YAML; ``secretsFile`` entries are
read relative to it). ``gate`` applies one environment's rules to one job
instance before it starts: the ref must be allowed, a review must approve
(the waiting request and the decision live in the store, so another process
can decide and a resumed run picks the decision up), then the wait timer
runs. ``decide`` records a review after checking the reviewer against
``requiredReviewers`` and ``preventSelfReview``. ``job_state`` gives the job
its environment's vars and secrets over the repository's. Touches the
environments file, the secrets files it names and the store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.ci.plan.environments import (
    Environment,
    EnvironmentSpecError,
    parse_all,
    parse_one,
    ref_refusal,
    review_refusal,
)
from shipway.ci.runstate import RunState
from shipway.model.errors import InputError, NotFoundError
from shipway.model.yamlsrc import load_one
from shipway.runtime.host import Cancel
from shipway.runtime.textfiles import read_text
from shipway.store import ci_coord
from shipway.store.db import Store
from shipway.store.runs import record_event

APPROVAL_POLL_SECONDS = 0.5


def read_secrets_file(path: Path) -> dict[str, str]:
    """``NAME=VALUE`` lines (``#`` comments, optional ``export`` and quotes)."""
    if not path.is_file():
        raise NotFoundError(f"secrets file {path} not found", subject=str(path))
    found: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise InputError("expected NAME=VALUE", file=str(path), line=n)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name.strip()] = value
    return found


def with_secret_files(envs: dict[str, Environment], base: Path) -> dict[str, Environment]:
    """Read each environment's ``secretsFile`` (relative to ``base``) under its own secrets."""
    for env in envs.values():
        if env.secrets_file:
            path = Path(env.secrets_file)
            path = path if path.is_absolute() else (base / path).resolve()
            env.secrets = {**read_secrets_file(path), **env.secrets}
            env.secrets_file = str(path)
    return envs


def to_stored(envs: dict[str, Environment]) -> dict[str, Any]:
    """Definitions without their secret values, to keep with a run's resume data."""
    out: dict[str, Any] = {}
    for name, env in envs.items():
        body: dict[str, Any] = {"vars": env.vars, "waitTimer": env.wait_minutes,
                                "requiredReviewers": env.reviewers}  # fmt: skip
        if env.prevent_self_review:
            body["preventSelfReview"] = True
        if env.secrets_file:
            body["secretsFile"] = env.secrets_file
        if env.branches is not None:
            body["deploymentBranches"] = env.branches
        if env.tags is not None:
            body["deploymentTags"] = env.tags
        out[name] = body
    return out


def from_data(data: Any, base: Path, subject: str) -> dict[str, Environment]:
    """Environments from parsed data (a ``Pipeline``'s ``environments`` field)."""
    try:
        envs = parse_all(data)
    except EnvironmentSpecError as exc:
        raise InputError(str(exc), subject=subject) from None
    return with_secret_files(envs, base)


def load_file(path: Path) -> dict[str, Environment]:
    """The environments a file defines: ``{environments: {name: {...}}}`` or ``{name: {...}}``."""
    if not path.is_file():
        raise NotFoundError(f"environments file {path} not found", subject=str(path))
    doc = load_one(read_text(path), str(path))
    data = doc.data
    prefix: tuple[str, ...] = ()
    if isinstance(data, dict) and set(data) == {"environments"}:
        data, prefix = data["environments"], ("environments",)
    if data is not None and not isinstance(data, dict):
        raise InputError("environments must be a mapping of names to settings", subject=str(path))
    envs: dict[str, Environment] = {}
    for name, body in (data or {}).items():
        try:
            envs[str(name)] = parse_one(str(name), body)
        except EnvironmentSpecError as exc:
            line, col = doc.locate((*prefix, name))
            raise InputError(str(exc), file=str(path), line=line, column=col) from None
    return with_secret_files(envs, path.parent)


def job_state(rs: RunState, env: Environment) -> RunState:
    """A run state for one job: the environment's vars and secrets over the repository's."""
    if not env.vars and not env.secrets:
        return rs
    info = dataclasses.replace(
        rs.info, secrets={**rs.info.secrets, **env.secrets}, vars={**rs.info.vars, **env.vars}
    )
    job_rs = RunState(info, rs.workflow, rs.inputs, masker=rs.masker, lines=rs.lines,
                      cancel=rs.cancel, annotations=rs.annotations)  # fmt: skip
    job_rs.secrets_ctx["GITHUB_TOKEN"] = rs.secrets_ctx.get("GITHUB_TOKEN", "")
    return job_rs


def gate(
    store: Store | None,
    env: Environment,
    *,
    ref: str,
    run_id: str,
    job_key: str,
    cancel: Cancel,
    log: Callable[[str], None],
    actor: str = "",
    on_wait: Callable[[bool], None] | None = None,
) -> str | None:
    """Apply ``env``'s protection rules; None lets the job start, else the job's result.

    ``on_wait(True)`` is called when the job starts waiting for a review,
    ``on_wait(False)`` when the review is decided (or the wait is cancelled).
    """
    refusal = ref_refusal(env, ref)
    if refusal is not None:
        log(f"::error::{refusal}")
        return "failure"
    if env.needs_approval:
        try:
            result = _await_review(store, env, run_id, job_key, cancel, log, actor, on_wait)
        finally:
            if on_wait is not None:
                on_wait(False)
        if result is not None:
            return result
    if env.wait_minutes > 0:
        log(f"Waiting for {env.wait_minutes:g} minute(s) to deploy to {env.name}")
        if cancel.event.wait(env.wait_minutes * 60):
            return "cancelled"
    return None


def _await_review(
    store: Store | None,
    env: Environment,
    run_id: str,
    job_key: str,
    cancel: Cancel,
    log: Callable[[str], None],
    actor: str,
    on_wait: Callable[[bool], None] | None,
) -> str | None:
    if store is None:
        log(f"::error::{env.name} needs a review, and reviews need the shipway store")
        return "failure"
    state = ci_coord.request_approval(store, run_id, job_key, env.name, reviewers=env.reviewers,
                                      prevent_self=env.prevent_self_review,
                                      actor=actor)  # fmt: skip
    if state == "waiting":
        record_event(store, "ci", f"{run_id}/{job_key}", "WaitingForReview",
                     f"environment {env.name} needs approval")  # fmt: skip
        who = ", ".join(env.reviewers)
        how = f"shipway ci approve {run_id} --environment {env.name}"
        log(f"Waiting for review: {env.name} needs approval to start deploying changes "
            f"(reviewers: {who}; run `{how}`)")  # fmt: skip
        if on_wait is not None:
            on_wait(True)
    while state == "waiting":
        if cancel.event.wait(APPROVAL_POLL_SECONDS):
            return "cancelled"
        found = ci_coord.approval(store, run_id, job_key, env.name)
        state = found["state"] if found else "waiting"
    decision = ci_coord.approval(store, run_id, job_key, env.name) or {}
    by = decision.get("reviewer") or "a reviewer"
    note = f": {decision['comment']}" if decision.get("comment") else ""
    record_event(store, "ci", f"{run_id}/{job_key}", f"Review{state.capitalize()}",
                 f"environment {env.name}: {state} by {by}{note}")  # fmt: skip
    if state == "rejected":
        log(f"::error::Deployment to {env.name} was rejected by {by}{note}")
        return "failure"
    log(f"Deployment to {env.name} was approved by {by}{note}")
    return None


def decide(
    store: Store, run_id: str, environment: str, approve: bool, reviewer: str, comment: str = ""
) -> list[dict[str, Any]]:
    """Approve or reject the jobs of ``run_id`` waiting on ``environment`` as ``reviewer``.

    ``ConflictError`` (nothing decided) when the environment names its
    reviewers and ``reviewer`` is not one, or forbids self-review and
    ``reviewer`` triggered the run; ``NotFoundError`` when nothing waits.
    """

    def refuse(request: dict[str, Any]) -> str | None:
        return review_refusal(request["reviewers"], request["preventSelfReview"],
                              request["actor"], reviewer)  # fmt: skip

    return ci_coord.decide(store, run_id, environment, approve, reviewer, comment, refuse)
