"""The forge fake's REST routes: GitHub's, GitLab's and Gitea's pull requests and statuses.

Part of ``forge_server`` (see its docstring for what the fake promises): ``github``,
``gitlab`` and ``gitea`` each answer one forge's paths below a project, in that
forge's documented shapes (pull requests with their head commit as the branch tip
now, comments through ``forge_notes``, commit statuses checked against the states
the forge knows). ``forge_server.route`` has already checked auth and the project.
Touches only the ``State`` it is handed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import forge_checks
from forge_notes import (
    USER,
    Result,
    _comment_by_id,
    _list_comments,
    _new_comment,
    _page,
    _pulls_of_commit,
)

if TYPE_CHECKING:
    from forge_server import State


def _fill(state: State, kind: str, project: str, pr: dict[str, Any]) -> dict[str, Any]:
    """The head commit as the branch tip now (a push moves it, as on a forge)."""
    if kind == "gitlab":
        if pr["state"] == "opened":
            pr["sha"] = state.tip(project, pr["source_branch"]) or pr.get("sha", "")
    elif pr["state"] == "open":
        pr["head"]["sha"] = state.tip(project, pr["head"]["ref"]) or pr["head"].get("sha", "")
    return pr


def github(
    state: State,
    project: str,
    method: str,
    rest: str,
    q: dict[str, str],
    body: dict[str, Any],
    base: str,
) -> Result:
    checks = forge_checks.github(state, project, method, rest, q, body)
    if checks is not None:
        return checks
    pulls = state.pulls.setdefault(("github", project), [])
    _head_shas(state, project, pulls)
    path = f"/github/repos/{project}/{rest}"
    if rest == "pulls" and method == "GET":
        owner = project.split("/")[0]
        items = [
            p for p in pulls if p["state"] == q.get("state", "open") or q.get("state") == "all"
        ]
        if "head" in q:
            items = [p for p in items if f"{owner}:{p['head']['ref']}" == q["head"]]
        if "base" in q:
            items = [p for p in items if p["base"]["ref"] == q["base"]]
        return _page(items, q, "per_page", base, path)
    if rest == "pulls" and method == "POST":
        for key in ("title", "head", "base"):
            if not body.get(key):
                return 422, {"message": "Validation Failed", "errors": [{"field": key}]}, {}
        if not state.branch_exists(project, body["head"]):
            return (
                422,
                {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]},
                {},
            )
        if _open_pull_for(pulls, body):
            msg = f"A pull request already exists for {project.split('/')[0]}:{body['head']}."
            return 422, {"message": "Validation Failed", "errors": [{"message": msg}]}, {}
        url = f"https://github.example/{project}/pull/{len(pulls) + 1}"
        return 201, _new_pull(state, project, pulls, body, url, merged_at=None), {}
    m = re.match(r"^pulls/(\d+)/merge$", rest)
    if m and method == "PUT":
        merged = _merge(state, project, pulls, int(m[1]), merged_at=_MERGED_AT)
        if isinstance(merged, tuple):
            return merged
        return (
            200,
            {"sha": merged, "merged": True, "message": "Pull Request successfully merged"},
            {},
        )
    m = re.match(r"^commits/([0-9a-f]{40})/pulls$", rest)
    if m and method == "GET":
        if not state.commit_exists(project, m[1]):
            return 422, {"message": f"No commit found for SHA: {m[1]}"}, {}
        return _page(_pulls_of_commit(state, "github", project, m[1], pulls), q, "per_page",
                     base, path)  # fmt: skip
    m = re.match(r"^pulls/(\d+)/files$", rest)
    if m and method == "GET":
        pr = next((p for p in pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        files = state.changed_files(project, pr["base"]["ref"], pr["head"]["ref"])
        return _page([{"filename": name, "status": st} for st, name in files], q, "per_page",
                     base, path)  # fmt: skip
    return _pull_routes(state, "github", project, method, rest, q, body, base, path, pulls)


def _head_shas(state: State, project: str, pulls: list[dict[str, Any]]) -> None:
    """An open pull request's head follows its branch in the real repository."""
    heads = state.heads(project) if pulls else {}
    for pr in pulls:
        if pr["state"] == "open":
            pr["head"]["sha"] = heads.get(pr["head"]["ref"]) or pr["head"].get("sha", "")


def gitlab(
    state: State,
    project: str,
    method: str,
    rest: str,
    q: dict[str, str],
    body: dict[str, Any],
    base: str,
) -> Result:
    mrs = state.pulls.setdefault(("gitlab", project), [])
    heads = state.heads(project) if mrs else {}
    for mr in mrs:  # an open merge request follows its source branch
        if mr["state"] == "opened":
            mr["sha"] = heads.get(mr["source_branch"]) or mr.get("sha", "")
    path = f"/gitlab/api/v4/projects/{project.replace('/', '%2F')}/{rest}"
    if rest == "merge_requests" and method == "GET":
        items = [p for p in mrs if q.get("state") in (None, "all", p["state"])]
        for key in ("source_branch", "target_branch"):
            if key in q:
                items = [p for p in items if p[key] == q[key]]
        return _page(items, q, "per_page", base, path)
    if rest == "merge_requests" and method == "POST":
        for key in ("source_branch", "target_branch", "title"):
            if not body.get(key):
                return 400, {"message": f"{key} is missing"}, {}
        if not state.branch_exists(project, body["source_branch"]):
            return 400, {"message": "Invalid source branch"}, {}  # not a 409 shape
        dup = next(
            (
                p
                for p in mrs
                if p["source_branch"] == body["source_branch"]
                and p["target_branch"] == body["target_branch"]
                and p["state"] == "opened"
            ),
            None,
        )
        if dup:
            msg = f"Another open merge request already exists for this source branch: !{dup['iid']}"
            return 409, {"message": [msg]}, {}
        n = len(mrs) + 1
        mr = {
            "id": 1000 + n,
            "iid": n,
            "web_url": f"https://gitlab.example/{project}/-/merge_requests/{n}",
            "state": "opened",
            "title": body["title"],
            "description": body.get("description") or "",
            "source_branch": body["source_branch"],
            "target_branch": body["target_branch"],
            "sha": state.tip(project, body["source_branch"]),
            "author": {"username": USER},
            "labels": [],
        }
        mrs.append(mr)
        return 201, mr, {}
    m = re.match(r"^merge_requests/(\d+)$", rest)
    if m and method == "GET":
        mr = next((p for p in mrs if p["iid"] == int(m[1])), None)
        return (
            (200, _fill(state, "gitlab", project, mr), {})
            if mr
            else (404, {"message": "404 Not found"}, {})
        )
    if m and method == "PUT":
        mr = next((p for p in mrs if p["iid"] == int(m[1])), None)
        if mr is None:
            return 404, {"message": "404 Not found"}, {}
        system = []  # GitLab writes its own notes for what changed, as on gitlab.com
        if "title" in body and body["title"] != mr["title"]:
            system.append(f"changed title from **{mr['title']}** to **{body['title']}**")
        if "description" in body and body["description"] != mr["description"]:
            system.append("changed the description")
        for key in ("title", "description"):
            if key in body:
                mr[key] = body[key]
        if body.get("state_event") == "close" and mr["state"] != "closed":
            mr["state"] = "closed"
            system.append("closed")
        for text in system:
            _new_comment(state, "gitlab", project, mr["iid"], text, base, system=True)
        return 200, mr, {}
    m = re.match(r"^merge_requests/(\d+)/notes(?:/(\d+))?$", rest)
    if m and not any(p["iid"] == int(m[1]) for p in mrs):
        return 404, {"message": "404 Not found"}, {}
    if m and not m[2] and method == "POST":
        return _new_comment(state, "gitlab", project, int(m[1]), body.get("body"), base)
    if m and not m[2] and method == "GET":
        return _list_comments(state, "gitlab", project, int(m[1]), q, base, path)
    if m and m[2] and method in ("PUT", "DELETE"):
        return _comment_by_id(state, "gitlab", project, method, int(m[2]), int(m[1]), body, base)
    m = re.match(r"^repository/commits/([0-9a-f]{40})/merge_requests$", rest)
    if m and method == "GET":
        if not state.commit_exists(project, m[1]):
            return 404, {"message": "404 Commit Not Found"}, {}
        return _page(_pulls_of_commit(state, "gitlab", project, m[1], mrs), q, "per_page",
                     base, path)  # fmt: skip
    m = re.match(r"^statuses/([^/]+)$", rest)
    if m and method == "POST":
        return _status("gitlab", state, project, m[1], body, _GITLAB_STATES, "state")
    return 404, {"message": "404 Not found"}, {}


def gitea(
    state: State,
    project: str,
    method: str,
    rest: str,
    q: dict[str, str],
    body: dict[str, Any],
    base: str,
) -> Result:
    pulls = state.pulls.setdefault(("gitea", project), [])
    _head_shas(state, project, pulls)
    path = f"/gitea/api/v1/repos/{project}/{rest}"
    if rest == "pulls" and method == "GET":
        items = [p for p in pulls if q.get("state", "open") in ("all", p["state"])]
        status, chunk, links = _page(items, q, "limit", base, path)
        links.pop("X-Next-Page", None)
        return status, chunk, {**links, "X-Total-Count": str(len(items))}
    if rest == "pulls" and method == "POST":
        for key in ("title", "head", "base"):
            if not body.get(key):
                return 422, {"message": f"[{key}]: Required"}, {}
        if not state.branch_exists(project, body["head"]):
            return 404, {"message": "The target couldn't be found."}, {}
        if _open_pull_for(pulls, body):
            return 409, {"message": "pull request already exists for these targets"}, {}
        url = f"https://gitea.example/{project}/pulls/{len(pulls) + 1}"
        return 201, _new_pull(state, project, pulls, body, url, merged=False), {}
    m = re.match(r"^pulls/(\d+)/merge$", rest)
    if m and method == "POST":  # Gitea merges with POST (GitHub with PUT)
        merged = _merge(state, project, pulls, int(m[1]), merged=True, merged_at=_MERGED_AT)
        if isinstance(merged, tuple):
            return merged
        return 200, None, {}  # Gitea answers a merge with an empty body
    m = re.match(r"^commits/([0-9a-f]{40})/pull$", rest)
    if m and method == "GET":  # the pull request whose merge made this commit
        found = next((p for p in pulls if p.get("merge_commit_sha") == m[1]), None)
        return (200, found, {}) if found else (404, {"message": "Not Found"}, {})
    return _pull_routes(state, "gitea", project, method, rest, q, body, base, path, pulls)


_MERGED_AT = "2026-01-01T00:00:00Z"
_PATCHED = {"github": 200, "gitea": 201}  # what each answers an edited pull request with
_STATES = {"github": {"error", "failure", "pending", "success"},
           "gitea": {"error", "failure", "pending", "success", "warning"}}  # fmt: skip


def _open_pull_for(pulls: list[dict[str, Any]], body: dict[str, Any]) -> bool:
    """Whether an open pull request already goes from ``body``'s head to its base."""
    return any(
        p["head"]["ref"] == body["head"]
        and p["base"]["ref"] == body["base"]
        and p["state"] == "open"
        for p in pulls
    )


def _new_pull(
    state: State, project: str, pulls: list[dict[str, Any]], body: dict[str, Any], url: str,
    **merge_fields: Any,
) -> dict[str, Any]:  # fmt: skip
    """A new open pull request (GitHub's and Gitea's shape, ``merge_fields`` their own)."""
    pr = {"number": len(pulls) + 1, "html_url": url, "state": "open", "title": body["title"],
          "body": body.get("body") or "",
          "head": {"ref": body["head"], "sha": state.tip(project, body["head"])},
          "base": {"ref": body["base"]}, **merge_fields, "user": {"login": USER},
          "labels": []}  # fmt: skip
    pulls.append(pr)
    return pr


def _merge(
    state: State, project: str, pulls: list[dict[str, Any]], number: int, **merged: Any
) -> str | Result:
    """Merge pull request ``number`` in the real repository: its merge commit, or the answer
    (404 none, 405 not open or not mergeable); a merged one is closed with ``merged``."""
    pr = next((p for p in pulls if p["number"] == number), None)
    if pr is None:
        return 404, {"message": "Not Found"}, {}
    if pr["state"] != "open":
        return 405, {"message": "Pull Request is not mergeable"}, {}
    sha = state.merge(project, pr["head"]["ref"], pr["base"]["ref"], pr["title"])
    if sha is None:
        return 405, {"message": "Pull Request is not mergeable"}, {}
    pr.update(state="closed", **merged, merge_commit_sha=sha)
    return sha


def _pull_routes(
    state: State, kind: str, project: str, method: str, rest: str, q: dict[str, str],
    body: dict[str, Any], base: str, path: str, pulls: list[dict[str, Any]],
) -> Result:  # fmt: skip
    """The routes GitHub and Gitea answer alike: a pull request (get, edit), its labels
    (added by name), its comments,
    a comment by id, commit statuses; 404 for any other."""
    m = re.match(r"^pulls/(\d+)$", rest)
    pr = next((p for p in pulls if p["number"] == int(m[1])), None) if m else None
    if m and method in ("GET", "PATCH") and pr is None:
        return 404, {"message": "Not Found"}, {}
    if pr is not None and method == "GET":
        return 200, _fill(state, kind, project, pr), {}
    if pr is not None and method == "PATCH":
        for key in ("title", "body", "state"):
            if key in body:
                pr[key] = body[key]
        return _PATCHED[kind], pr, {}
    m = re.match(r"^issues/(\d+)/comments$", rest)
    if m and not any(p["number"] == int(m[1]) for p in pulls):
        return 404, {"message": "Not Found"}, {}
    if m and method == "POST":
        return _new_comment(state, kind, project, int(m[1]), body.get("body"), base)
    if m and method == "GET":
        return _list_comments(state, kind, project, int(m[1]), q, base, path)
    m = re.match(r"^issues/(\d+)/labels$", rest)
    labelled = next((p for p in pulls if p["number"] == int(m[1])), None) if m else None
    if labelled is not None and method == "POST":
        have = labelled.setdefault("labels", [])
        have += [{"name": n} for n in body.get("labels") or [] if {"name": n} not in have]
        return 200, have, {}
    m = re.match(r"^issues/comments/(\d+)$", rest)
    if m and method in ("PATCH", "DELETE"):
        return _comment_by_id(state, kind, project, method, int(m[1]), None, body, base)
    m = re.match(r"^statuses/([^/]+)$", rest)
    if m and method == "POST":
        return _status(kind, state, project, m[1], body, _STATES[kind], "state")
    return 404, {"message": "Not Found"}, {}


_GITLAB_STATES = {"pending", "running", "success", "failed", "canceled", "skipped"}


def _status(
    kind: str,
    state: State,
    project: str,
    sha: str,
    body: dict[str, Any],
    allowed: set[str],
    key: str,
) -> Result:
    """A commit status: the state must be one the forge knows, the commit must exist."""
    if state.refuse_statuses:
        return 403, {"message": "Resource not accessible by integration"}, {}
    if body.get(key) not in allowed:
        code = 400 if kind == "gitlab" else 422
        return code, {"message": f"state must be one of {sorted(allowed)}"}, {}
    if not state.commit_exists(project, sha):
        if kind == "github":
            return 422, {"message": f"No commit found for SHA: {sha}"}, {}
        return 404, {"message": "Not Found"}, {}
    state.statuses.append((kind, project, sha, dict(body)))
    context = body.get("name" if kind == "gitlab" else "context") or "default"
    return 201, {"id": len(state.statuses), "state": body[key], "context": context}, {}
