"""Bitbucket Cloud's commit build statuses in the forge fake (API 2.0 under ``/bitbucket/2.0``).

``POST /repositories/{workspace}/{repo}/commit/{sha}/statuses/build`` creates or updates
the status of that ``key`` (state SUCCESSFUL, FAILED, INPROGRESS or STOPPED; ``key`` and
``url`` required, as Bitbucket answers 400 without them), ``GET …/statuses/build/{key}``
reads it (404 when there is none). Basic authentication with any user and ``TOKEN`` as
the password; the commit must exist in the repository the fake serves.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from forge_notes import Result
from forge_server import TOKEN, State

STATES = {"SUCCESSFUL", "FAILED", "INPROGRESS", "STOPPED"}
_PATH = re.compile(r"^/bitbucket/2\.0/repositories/(?P<p>[^/]+/[^/]+)/commit/(?P<sha>[0-9a-f]+)"
                   r"/statuses/build(?:/(?P<key>[^/]+))?$")  # fmt: skip


def route(
    state: State, method: str, path: str, body: Any, headers: dict[str, str]
) -> Result | None:
    m = _PATH.match(path)
    if m is None:
        return None
    auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    try:
        _, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
    except ValueError:
        password = ""
    if not auth.startswith("Basic ") or password != TOKEN:
        return 401, {"type": "error", "error": {"message": "Unauthorized"}}, {}
    project, sha = m["p"], m["sha"]
    if project not in state.repos or not state.commit_exists(project, sha):
        return 404, {"type": "error", "error": {"message": "Commit not found"}}, {}
    have = [s for s in state.statuses if s[:3] == ("bitbucket", project, sha)]
    if method == "GET" and m["key"]:
        found = [s[3] for s in have if s[3].get("key") == m["key"]]
        if not found:
            return 404, {"type": "error", "error": {"message": "Build status not found"}}, {}
        return 200, {"type": "build", **found[-1]}, {}
    if method == "POST" and not m["key"]:
        body = body or {}
        if body.get("state") not in STATES or not body.get("key") or not body.get("url"):
            return 400, {"type": "error", "error": {"message": "state, key and url are "
                                                                "required"}}, {}  # fmt: skip
        state.statuses.append(("bitbucket", project, sha, dict(body)))
        return 201, {"type": "build", **body}, {}
    return 404, {"type": "error", "error": {"message": "Not Found"}}, {}
