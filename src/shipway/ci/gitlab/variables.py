"""GitLab's predefined ``CI_*`` variables and its variable precedence.

Pure. ``pipeline_vars(facts)`` and ``job_vars(job, id)`` give the variables GitLab
sets for a job in a pipeline of one commit; ``job_env`` merges the layers in GitLab's order, lowest
first: predefined, top-level ``variables``, job ``variables`` (matrix values
included), rule ``variables``, ``dotenv`` reports of the jobs it depends on,
then pipeline variables (``shipway ci run --var``), and expands ``$VAR`` references in
values (not in values marked ``expand: false``, nor in dotenv and pipeline values, which
GitLab passes as given).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shipway.ci.gitlab.expr import expand
from shipway.ci.gitlab.model import Job


@dataclass(frozen=True)
class Facts:
    """What the pipeline runs on."""

    sha: str
    ref: str  # branch or tag name
    tag: bool = False
    default_branch: str = "main"
    message: str = ""
    project_dir: str = "/builds/project"
    project_path: str = "shipway/project"
    pipeline_id: str = "1"
    source: str = "push"
    before_sha: str = "0" * 40
    server_url: str = "http://localhost"
    user: str = "shipway"
    extra: Mapping[str, str] = field(default_factory=dict)


def slug(text: str) -> str:
    """``CI_COMMIT_REF_SLUG``: lower case, non-alphanumerics to ``-``, 63 characters, trimmed."""
    return re.sub(r"[^a-z0-9]", "-", text.lower())[:63].strip("-")


def pipeline_vars(f: Facts) -> dict[str, str]:
    """The variables every job of the pipeline (and ``rules:if``) sees."""
    namespace, _, name = f.project_path.rpartition("/")
    title = f.message.splitlines()[0] if f.message else ""
    out = {
        "CI": "true", "GITLAB_CI": "true", "CI_SERVER": "yes",
        "CI_SERVER_URL": f.server_url, "CI_SERVER_NAME": "GitLab",
        "CI_COMMIT_SHA": f.sha, "CI_COMMIT_SHORT_SHA": f.sha[:8],
        "CI_COMMIT_BEFORE_SHA": f.before_sha, "CI_COMMIT_REF_NAME": f.ref,
        "CI_COMMIT_REF_SLUG": slug(f.ref), "CI_COMMIT_MESSAGE": f.message,
        "CI_COMMIT_TITLE": title, "CI_COMMIT_DESCRIPTION": f.message[len(title):].lstrip("\n"),
        "CI_DEFAULT_BRANCH": f.default_branch, "CI_PIPELINE_SOURCE": f.source,
        "CI_PIPELINE_ID": f.pipeline_id, "CI_PIPELINE_IID": f.pipeline_id,
        "CI_PIPELINE_URL": f"{f.server_url}/{f.project_path}/-/pipelines/{f.pipeline_id}",
        "CI_PROJECT_DIR": f.project_dir, "CI_PROJECT_NAME": name or f.project_path,
        "CI_PROJECT_PATH": f.project_path, "CI_PROJECT_NAMESPACE": namespace,
        "CI_PROJECT_PATH_SLUG": slug(f.project_path),
        "CI_PROJECT_URL": f"{f.server_url}/{f.project_path}",
        "CI_BUILDS_DIR": f.project_dir.rsplit("/", 1)[0] or "/",
        "CI_REPOSITORY_URL": f"{f.server_url}/{f.project_path}.git",
        "GITLAB_USER_LOGIN": f.user, "GITLAB_USER_NAME": f.user,
        "CI_CONFIG_PATH": ".gitlab-ci.yml",
    }  # fmt: skip
    if f.tag:
        out["CI_COMMIT_TAG"] = f.ref
    elif f.source != "merge_request_event":  # GitLab sets no branch in merge request pipelines
        out["CI_COMMIT_BRANCH"] = f.ref
    return {**out, **f.extra}


def job_vars(job: Job, job_id: int) -> dict[str, str]:
    """The predefined variables of one job."""
    out = {
        "CI_JOB_NAME": job.name, "CI_JOB_NAME_SLUG": slug(job.name),
        "CI_JOB_STAGE": job.stage, "CI_JOB_ID": str(job_id),
        "CI_JOB_MANUAL": "true" if job.when == "manual" else "",
        "CI_JOB_TIMEOUT": str(job.timeout or 3600),
    }  # fmt: skip
    if not out["CI_JOB_MANUAL"]:
        del out["CI_JOB_MANUAL"]
    if job.image:
        out["CI_JOB_IMAGE"] = str(job.image["name"])
    if job.node_total is not None:
        out["CI_NODE_INDEX"], out["CI_NODE_TOTAL"] = str(job.node_index), str(job.node_total)
    else:
        out["CI_NODE_TOTAL"] = "1"
    if job.environment:
        out["CI_ENVIRONMENT_NAME"] = str(job.environment.get("name", ""))
        out["CI_ENVIRONMENT_SLUG"] = slug(out["CI_ENVIRONMENT_NAME"])
        if job.environment.get("url"):
            out["CI_ENVIRONMENT_URL"] = str(job.environment["url"])
    return out


def resolve(env: Mapping[str, str], raw: frozenset[str] = frozenset()) -> dict[str, str]:
    """Expand ``$VAR`` in values against the other values (nested up to 10 times)."""
    out = dict(env)
    for _ in range(10):
        changed = False
        for k, v in out.items():
            if k in raw or "$" not in v:
                continue
            new = expand(v, {n: x for n, x in out.items() if n != k})
            if new != v:
                out[k], changed = new, True
        if not changed:
            break
    return out


def job_env(predefined: Mapping[str, str], job: Job, rule_vars: Mapping[str, str],
            dotenv: Mapping[str, str], pipeline: Mapping[str, str]) -> dict[str, str]:  # fmt: skip
    """The job's variables, every layer in GitLab's precedence, references expanded."""
    merged = {**predefined, **job.global_variables, **job.variables, **rule_vars, **dotenv,
              **pipeline}  # fmt: skip
    return resolve(merged, job.raw_variables | frozenset(dotenv) | frozenset(pipeline))
