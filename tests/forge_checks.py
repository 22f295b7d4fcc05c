"""GitHub deployments and check runs in the forge fake, checked as GitHub documents them.

- ``POST /repos/{o}/{r}/deployments``: ``ref`` (a branch, tag or commit of the real
  repository, else 422), ``environment`` (default ``production``),
  ``required_contexts``, ``auto_merge``, ``transient_environment``, ``description``;
  ``GET`` lists them (``sha``, ``ref``, ``environment`` filters);
- ``POST /repos/{o}/{r}/deployments/{id}/statuses``: ``state`` one of GitHub's
  (422 otherwise), ``log_url``, ``environment_url``, ``description``;
- ``POST /repos/{o}/{r}/check-runs``: ``name`` and ``head_sha`` required; ``status``
  queued|in_progress|completed, ``conclusion`` required when completed;
  ``started_at``/``completed_at`` ISO 8601; ``output`` needs ``title`` and ``summary``;
- ``POST /repos/{o}/{r}/dispatches``: a ``repository_dispatch`` (``event_type`` of at most
  100 characters, ``client_payload``), 204.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shipway.git.repo import Repo
from shipway.model.errors import GitError

Result = tuple[int, Any, dict[str, str]]
_DEPLOY_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
_CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped",
                "stale", "timed_out")  # fmt: skip


def _invalid(field: str) -> Result:
    return 422, {"message": "Validation Failed", "errors": [{"field": field}]}, {}


def _iso(value: Any) -> bool:
    try:
        dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _sha(state: Any, project: str, ref: str) -> str:
    """The commit ``ref`` (a branch, a tag or a commit) names in the real repository."""
    if state.branch_exists(project, ref):
        return str(state.tip(project, ref))
    if state.commit_exists(project, ref):
        return ref
    try:
        return Repo(state.repos[project]).run("rev-parse", "--verify", "-q",
                                              f"refs/tags/{ref}^{{commit}}").strip()  # fmt: skip
    except GitError:
        return ""


def github(state: Any, project: str, method: str, rest: str, q: dict[str, str],
           body: dict[str, Any]) -> Result | None:  # fmt: skip
    """The answer for these routes, or None for another route."""
    if rest == "dispatches" and method == "POST":  # repository_dispatch: 204, no body
        if not body.get("event_type") or len(str(body["event_type"])) > 100:
            return _invalid("event_type")
        state.dispatches.append({"project": project, **body})
        return 204, None, {}
    mine = [d for d in state.deployments if d["project"] == project]
    if rest == "deployments" and method == "GET":
        items = [d for d in mine if all(d.get(k) == q[k] for k in ("sha", "ref", "environment")
                                         if k in q)]  # fmt: skip
        return 200, [{k: v for k, v in d.items() if k != "project"} for d in items], {}
    if rest == "deployments" and method == "POST":
        sha = _sha(state, project, str(body.get("ref") or ""))
        if not sha:
            return _invalid("ref")
        dep = {"id": len(state.deployments) + 1, "project": project, "ref": body["ref"],
               "sha": sha, "environment": body.get("environment") or "production",
               "description": body.get("description"),
               "required_contexts": body.get("required_contexts"),
               "auto_merge": body.get("auto_merge", True),
               "transient_environment": bool(body.get("transient_environment"))}  # fmt: skip
        state.deployments.append(dep)
        return 201, {k: v for k, v in dep.items() if k != "project"}, {}
    m = re.match(r"^deployments/(\d+)/statuses$", rest)
    if m and method == "POST":
        if not any(d["id"] == int(m[1]) for d in mine):
            return 404, {"message": "Not Found"}, {}
        if body.get("state") not in _DEPLOY_STATES:
            return _invalid("state")
        status = {"id": len(state.deployment_statuses) + 1, "deployment": int(m[1]), **body}
        state.deployment_statuses.append(status)
        return 201, status, {}
    if rest == "check-runs" and method == "POST":
        for key in ("name", "head_sha"):
            if not body.get(key):
                return _invalid(key)
        if not state.commit_exists(project, body["head_sha"]):
            return _invalid("head_sha")
        if body.get("status", "queued") not in ("queued", "in_progress", "completed"):
            return _invalid("status")
        if body.get("status") == "completed" and body.get("conclusion") not in _CONCLUSIONS:
            return _invalid("conclusion")
        for key in ("started_at", "completed_at"):
            if key in body and not _iso(body[key]):
                return _invalid(key)
        out = body.get("output")
        if out is not None and not (out.get("title") and out.get("summary")):
            return _invalid("output")
        run = {"id": len(state.check_runs) + 1, "project": project, **body}
        state.check_runs.append(run)
        return 201, run, {}
    return None
