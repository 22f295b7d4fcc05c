"""What a run is about, and the ``github`` context and default environment it implies.

Pure: builds dicts from a ``RunInfo``; the engine writes the event file and
creates the directories named here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.runtime.host import Cancel


@dataclass
class RunInfo:
    """Everything about one workflow run that does not come from the workflow file."""

    run_id: str
    repo: str  # git URL or local path of the source repository (for actions/checkout)
    commit: str
    ref: str
    event: str
    payload: dict[str, Any]
    base_dir: Path  # the run's directory: workspaces, temp dirs, event file
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # extra process environment
    repository: str = ""  # owner/name
    pipeline: str = ""  # the Pipeline that started the run (RBAC object of ci-runs)
    actor: str = "shipway"
    run_number: int = 1
    job_filter: str | None = None
    executor: str = "host"
    on_line: Callable[[str], None] | None = None
    server_url: str = "http://localhost"
    git_url: str = ""  # base URL of other owner/name repos (else $SHIPWAY_GIT_URL): ci.remote
    workflow_ref: str = ""
    source_dir: Path | None = None  # a checkout of the commit: local actions, called workflows
    action_cache: Path | None = None  # vendored remote actions: <owner>/<name>@<ref>/
    cache_dir: Path | None = None  # actions/cache archives (default: next to the run)
    artifact_dir: Path | None = None  # upload/download-artifact (default: <base_dir>/artifacts)
    podman_env: dict[str, str] | None = None  # CONTAINERS_CONF... (default: $SHIPWAY_HOME/podman)
    runner_image: str | None = None  # the image of jobs without container: (podman executor)
    platforms: dict[str, str] = field(default_factory=dict)  # runs-on label -> image
    keep_workspace: bool = False  # keep jobs' workspaces after the run (for debugging)
    cancel: Cancel | None = None  # set by whoever may cancel the run (a signal, a user)
    kube: dict[str, Any] = field(default_factory=dict)  # kubernetes executor: kubeconfig,
    # context, server, namespace, pvc, pvc_path, pod_timeout (ci.exec.kubernetes)
    environments: dict[str, Any] = field(default_factory=dict)  # name -> plan Environment
    worktree: Path | None = None  # a local run of this working tree (uncommitted changes too)
    note: str = ""  # said first in the run's log (what a local run runs)
    token_default: str = "permissive"  # GITHUB_TOKEN scopes without permissions: (or restricted)
    token_cap: dict[str, str] | None = None  # no job's token gets more (read-all for forks)
    verbose: bool = False  # the GITHUB_TOKEN Permissions group in full

    @property
    def artifacts(self) -> Path:
        return self.artifact_dir or self.base_dir / "artifacts"

    @property
    def caches(self) -> Path:
        return self.cache_dir or self.base_dir.parent / "ci-cache"

    @property
    def source_root(self) -> Path | None:
        if self.source_dir is not None:
            return self.source_dir
        path = Path(self.repo)
        return path if path.is_dir() else None

    @property
    def repository_name(self) -> str:
        if self.repository:
            return self.repository
        tail = self.repo.rstrip("/").removesuffix(".git").split("/")[-2:]
        name = "/".join(t for t in tail if t) or "local/repo"
        return name if "/" in name else f"local/{name}"


def ref_parts(ref: str) -> tuple[str, str]:
    """(ref_name, ref_type) of a full ref."""
    if ref.startswith("refs/tags/"):
        return ref[len("refs/tags/") :], "tag"
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :], "branch"
    if ref.startswith("refs/pull/"):
        return ref[len("refs/pull/") :], "branch"
    return ref, "branch"


def github_context(info: RunInfo, workflow: str, job: str, workspace: Path) -> dict[str, Any]:
    ref_name, ref_type = ref_parts(info.ref)
    pr = info.payload.get("pull_request") or {}
    head_ref = str((pr.get("head") or {}).get("ref", "")) if pr else ""
    base_ref = str((pr.get("base") or {}).get("ref", "")) if pr else ""
    repo = info.repository_name
    return {
        "action": "",
        "action_path": "",
        "action_ref": "",
        "action_repository": "",
        "actor": info.actor,
        "actor_id": "0",
        "api_url": f"{info.server_url}/api/v3",
        "base_ref": base_ref,
        "env": "",
        "event": info.payload,
        "event_name": info.event,
        "event_path": str(info.base_dir / "event.json"),
        "graphql_url": f"{info.server_url}/api/graphql",
        "head_ref": head_ref,
        "job": job,
        "path": "",
        "ref": info.ref,
        "ref_name": ref_name,
        "ref_protected": False,
        "ref_type": ref_type,
        "repository": repo,
        "repository_id": "0",
        "repository_owner": repo.split("/")[0],
        "repository_owner_id": "0",
        "repositoryUrl": info.repo,
        "retention_days": "90",
        "run_attempt": "1",
        "run_id": info.run_id,
        "run_number": str(info.run_number),
        "secret_source": "Actions",
        "server_url": info.server_url,
        "sha": info.commit,
        "token": "",
        "triggering_actor": info.actor,
        "workflow": workflow,
        "workflow_ref": info.workflow_ref,
        "workflow_sha": info.commit,
        "workspace": str(workspace),
    }


def default_env(gh: dict[str, Any], runner: dict[str, Any]) -> dict[str, str]:
    """The default environment variables every step sees (``GITHUB_*``, ``RUNNER_*``, ``CI``)."""
    env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": gh["actor"],
        "GITHUB_ACTOR_ID": gh["actor_id"],
        "GITHUB_API_URL": gh["api_url"],
        "GITHUB_BASE_REF": gh["base_ref"],
        "GITHUB_EVENT_NAME": gh["event_name"],
        "GITHUB_EVENT_PATH": gh["event_path"],
        "GITHUB_GRAPHQL_URL": gh["graphql_url"],
        "GITHUB_HEAD_REF": gh["head_ref"],
        "GITHUB_JOB": gh["job"],
        "GITHUB_REF": gh["ref"],
        "GITHUB_REF_NAME": gh["ref_name"],
        "GITHUB_REF_PROTECTED": "false",
        "GITHUB_REF_TYPE": gh["ref_type"],
        "GITHUB_REPOSITORY": gh["repository"],
        "GITHUB_REPOSITORY_ID": gh["repository_id"],
        "GITHUB_REPOSITORY_OWNER": gh["repository_owner"],
        "GITHUB_REPOSITORY_OWNER_ID": gh["repository_owner_id"],
        "GITHUB_RETENTION_DAYS": gh["retention_days"],
        "GITHUB_RUN_ATTEMPT": gh["run_attempt"],
        "GITHUB_RUN_ID": gh["run_id"],
        "GITHUB_RUN_NUMBER": gh["run_number"],
        "GITHUB_SERVER_URL": gh["server_url"],
        "GITHUB_SHA": gh["sha"],
        "GITHUB_TRIGGERING_ACTOR": gh["triggering_actor"],
        "GITHUB_WORKFLOW": gh["workflow"],
        "GITHUB_WORKFLOW_REF": gh["workflow_ref"],
        "GITHUB_WORKFLOW_SHA": gh["workflow_sha"],
        "GITHUB_WORKSPACE": gh["workspace"],
        "RUNNER_ARCH": runner["arch"],
        "RUNNER_NAME": runner["name"],
        "RUNNER_OS": runner["os"],
        "RUNNER_TEMP": runner["temp"],
        "RUNNER_TOOL_CACHE": runner["tool_cache"],
        "RUNNER_ENVIRONMENT": runner["environment"],
    }
    return env


def runner_context(temp: Path, tool_cache: Path) -> dict[str, Any]:
    machine = os.uname().machine
    arch = {"x86_64": "X64", "aarch64": "ARM64", "arm64": "ARM64", "armv7l": "ARM"}.get(
        machine, machine.upper()
    )
    return {
        "name": "shipway",
        "os": "Linux",
        "arch": arch,
        "temp": str(temp),
        "tool_cache": str(tool_cache),
        "debug": "",
        "environment": "self-hosted",
    }
