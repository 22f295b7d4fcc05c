"""``shipway ci run`` on a GitLab checkout: read ``.gitlab-ci.yml``, plan, run, store.

Called by ``cli.ci`` when the checkout has ``.gitlab-ci.yml`` (or ``--gitlab``).
The pipeline is checked whole before anything runs (every problem as
``file:line:col``, exit 2). Pipeline variables (``--var``) have the highest
precedence, as GitLab's pipeline variables do. Touches the git checkout (read),
the run directory, the store, and what the executors start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.ci.exec.base import ExecutorConfig
from shipway.ci.gitlab.model import Pipeline
from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, Plan, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.gitlab_event import GITLAB_FILE, default_branch, git_or, reader, repo_files
from shipway.ci.gitlab_run import RunSpec, run_pipeline
from shipway.ci.service import origin_repository
from shipway.runtime.host import Cancel
from shipway.settings import Settings
from shipway.store.db import Store
from shipway.store.runs import put_state, save_run


def wants_gitlab(root: Path, workflow_file: str | None, forced: bool) -> bool:
    if forced:
        return True
    if workflow_file:
        return Path(workflow_file).name.endswith(GITLAB_FILE)
    return (root / GITLAB_FILE).is_file()


def _changed(root: Path, commit: str) -> list[str] | None:
    before = git_or(root, ["rev-parse", "--verify", "-q", f"{commit}~1"], "")
    if not before:
        return None  # a first commit: GitLab treats changes: as true
    out = git_or(root, ["diff", "--name-only", before, commit], "")
    return [f for f in out.splitlines() if f]


def plan_gitlab(root: Path, commit: str, branch: str, workflow_file: str | None,
                variables: dict[str, str]) -> tuple[Pipeline, Plan, Facts]:  # fmt: skip
    """Parse ``root``'s pipeline and plan it for ``commit`` on ``branch`` (or its tag)."""
    shown = GITLAB_FILE
    if workflow_file:
        path = Path(workflow_file).resolve()
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    read = reader(root)
    files = repo_files(root)
    pipe = parse_pipeline(shown, read, files)
    tag = git_or(root, ["describe", "--tags", "--exact-match", commit], "")
    facts = Facts(sha=commit, ref=tag or branch, tag=bool(tag),
                  default_branch=default_branch(root),
                  message=git_or(root, ["log", "-1", "--format=%B", commit], "").strip(),
                  project_path=origin_repository(root) or f"local/{root.name}",
                  before_sha=git_or(root, ["rev-parse", "-q", "--verify", f"{commit}~1"],
                                     "0" * 40))  # fmt: skip
    plan = plan_pipeline(pipe, Context(facts, files=files, changed=_changed(root, commit),
                                       variables=variables))  # fmt: skip
    return pipe, plan, facts


def run_gitlab(root: Path, commit: str, branch: str, workflow_file: str | None,
               variables: dict[str, str], job: str | None, executor: str, settings: Settings,
               store: Store | None, run_id: str, on_line: Callable[[str], None],
               cancel: Cancel, concurrency: int = 1,
               kube: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the GitLab pipeline of ``root`` at ``commit``; return the stored record. On the
    kubernetes executor each job is a Pod of its image (``kube``: the cluster settings),
    as GitLab's Kubernetes executor runs it; a job without ``image:`` then needs
    ``$SHIPWAY_CI_IMAGE``, the default image."""
    pipe, plan, facts = plan_gitlab(root, commit, branch, workflow_file, variables)
    if not plan.created:
        on_line("workflow:rules: no pipeline is created for this commit")
    from shipway.runtime import podman_env

    config = ExecutorConfig(podman_env=podman_env.for_home(settings.home), kube=dict(kube or {}))
    base_dir = settings.work_dir / "ci" / run_id
    default_image = os.environ.get("SHIPWAY_CI_IMAGE") or None if executor == "kubernetes" \
        else None  # fmt: skip
    resume = {"syntax": "gitlab", "source": str(root), "base_dir": str(base_dir),
              "file": pipe.file, "only_job": job, "keep": True, "repo": str(root),
              "commit": commit, "ref": f"refs/heads/{branch}", "event": facts.source,
              "changed": _changed(root, commit), "executor": executor,
              "variables": dict(variables), "env": {}, "pipeline": "",
              "runner_image": default_image, "concurrency": concurrency,
              "kube": dict(kube or {}), "facts": {**facts.__dict__,
                                                  "extra": dict(facts.extra)}}  # fmt: skip

    def stored(state: dict[str, Any]) -> None:  # `shipway ci resume RUN` finishes it
        if store is not None:
            put_state(store, "ci", run_id, "running", {**state, "resume": resume})

    spec = RunSpec(run_id=run_id, source=root, base_dir=base_dir,
                   cache_root=settings.home / "ci-cache" / "gitlab", facts=facts,
                   executor=executor, variables=variables, config=config, on_line=on_line,
                   cancel=cancel, only_job=job, concurrency=concurrency,
                   default_image=default_image, on_state=stored)  # fmt: skip
    if plan.created and not plan.errors:
        stored({})
    record, log = run_pipeline(pipe, plan, spec)
    if store is not None:
        save_run(store, record, log, commit)
        put_state(store, "ci", run_id, "done", {"resume": resume})
    return record
