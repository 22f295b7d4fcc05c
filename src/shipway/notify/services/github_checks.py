"""A GitHub deployment (with its status) and a check run, from an Argo CD ``github``
template's ``deployment`` and ``checkRun`` fields, as its github service page documents
them. Touches the GitHub API through the forge client only.

- ``deploy(forge, sha, fields)``: the deployment of ``reference`` (default the
  commit) to ``environment`` (default ``production``) is found by commit and
  environment, else created (``requiredContexts``, ``autoMerge``,
  ``transientEnvironment``); then a status ``state`` with ``environmentURL`` and
  ``logURL``.
- ``check_run(forge, sha, fields, app)``: a check run on the commit: ``name``
  (default ``continuous-delivery/<app>``), ``details_url``, ``status``,
  ``conclusion``, ``started_at``/``completed_at`` (sent when they are RFC 3339
  times; the page's ``YYYY-MM-DDTHH:MM:SSZ`` placeholder is left to GitHub's
  default), ``output`` (``title``, ``summary``, ``text``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shipway.git.forge import Forge


def _bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def deploy(forge: Forge, sha: str, fields: dict[str, Any]) -> None:
    repo = f"/repos/{forge.project}"
    env = str(fields.get("environment") or "production")
    found = forge.call("GET", f"{repo}/deployments", params={"sha": sha, "environment": env})
    existing = [d for d in found.json() or [] if d.get("sha") == sha]
    if existing:
        dep_id = existing[0]["id"]
    else:
        body: dict[str, Any] = {
            "ref": str(fields.get("reference") or sha),
            "environment": env,
            "auto_merge": _bool(fields.get("autoMerge"), True),
            "transient_environment": _bool(fields.get("transientEnvironment"), False),
        }
        if fields.get("requiredContexts") is not None:
            body["required_contexts"] = [str(c) for c in fields["requiredContexts"]]
        dep_id = forge.call("POST", f"{repo}/deployments", json=body).json()["id"]
    status = {"state": str(fields["state"])}
    for ours, theirs in (("environmentURL", "environment_url"), ("logURL", "log_url")):
        if fields.get(ours):
            status[theirs] = str(fields[ours])
    forge.call("POST", f"{repo}/deployments/{dep_id}/statuses", json=status)


def _time(value: Any) -> str:
    try:
        dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return str(value)


def check_run(forge: Forge, sha: str, fields: dict[str, Any], app: str) -> None:
    body: dict[str, Any] = {"name": str(fields.get("name") or f"continuous-delivery/{app}"),
                            "head_sha": sha}  # fmt: skip
    for key in ("details_url", "status", "conclusion", "external_id"):
        if fields.get(key):
            body[key] = str(fields[key])
    for key in ("started_at", "completed_at"):
        if _time(fields.get(key)):
            body[key] = str(fields[key])
    out = fields.get("output") or {}
    if out:
        body["output"] = {k: str(out[k]) for k in ("title", "summary", "text") if out.get(k)}
    forge.call("POST", f"/repos/{forge.project}/check-runs", json=body)
