"""An in-process forge API server speaking the documented GitHub, GitLab and Gitea shapes.

No forge can run on this machine, so pull requests are tested against this
server. It keeps pull requests in memory, checks each flavour's auth header,
refuses a second open pull request for the same branches with that forge's
status (GitHub 422, GitLab 409, Gitea 409), paginates lists the way each
forge does, and — to stay honest about git — refuses a head branch that does
not exist in the real bare repository behind the git daemon.

Mounted at ``/github``, ``/gitlab/api/v4`` and ``/gitea/api/v1``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from shipway.git.repo import Repo
from shipway.model.errors import GitError

TOKEN = "s3cret-token"


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    answer: Any


@dataclass
class State:
    repos: dict[str, Path] = field(default_factory=dict)  # project -> bare repository
    pulls: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    comments: list[tuple[str, str, int, str]] = field(default_factory=list)
    statuses: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    edits: int = 0  # comments edited in place
    exchanges: list[Exchange] = field(default_factory=list)  # every request with its answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def branch_exists(self, project: str, branch: str) -> bool:
        bare = self.repos.get(project)
        if bare is None:
            return False
        out = Repo(bare).run("for-each-ref", "--format=%(refname)", f"refs/heads/{branch}")
        return bool(out.strip())

    def merge(self, project: str, head: str, base: str, title: str) -> str | None:
        """Merge ``head`` into ``base`` in the real bare repository (None on a conflict)."""
        repo = Repo(self.repos[project])
        try:
            tree = repo.run("merge-tree", "--write-tree", base, head).split()[0]
            sha = repo.run(
                "commit-tree", tree, "-p", base, "-p", head, "-m", f"Merge: {title}"
            ).strip()
        except GitError:
            return None
        repo.run("update-ref", f"refs/heads/{base}", sha)
        return sha

    def head_sha(self, project: str, branch: str) -> str:
        """The commit at the tip of ``branch`` in the bare repository ("" when none)."""
        try:
            return Repo(self.repos[project]).run("rev-parse", f"refs/heads/{branch}").strip()
        except (GitError, KeyError):
            return ""

    def commit_exists(self, project: str, sha: str) -> bool:
        bare = self.repos.get(project)
        if bare is None or not re.fullmatch(r"[0-9a-f]{40}", sha):
            return False
        try:
            return Repo(bare).run("cat-file", "-t", sha).strip() == "commit"
        except GitError:
            return False


class ForgeServer:
    def __init__(self) -> None:
        self.state = State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                base = f"http://{self.headers.get('Host')}"
                with state.lock:
                    status, out, headers = route(
                        state, method, parts.path, query, body, dict(self.headers), base
                    )
                    state.exchanges.append(
                        Exchange(
                            method, parts.path, query, body, status, json.loads(json.dumps(out))
                        )
                    )
                self._send(status, out, headers)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_PUT(self) -> None:
                self._handle("PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def api(self, kind: str) -> str:
        suffix = {"github": "/github", "gitlab": "/gitlab/api/v4", "gitea": "/gitea/api/v1"}[kind]
        return f"http://127.0.0.1:{self.port}{suffix}"

    def add_repo(self, project: str, bare: Path) -> None:
        self.state.repos[project] = bare

    def open_pulls(self, kind: str, project: str) -> list[dict[str, Any]]:
        open_word = "opened" if kind == "gitlab" else "open"
        return [p for p in self.state.pulls.get((kind, project), []) if p["state"] == open_word]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


Result = tuple[int, Any, dict[str, str]]


def _authorized(kind: str, headers: dict[str, str]) -> bool:
    h = {k.lower(): v for k, v in headers.items()}
    if kind == "github":
        return h.get("authorization") == f"Bearer {TOKEN}"
    if kind == "gitlab":
        return h.get("private-token") == TOKEN or h.get("authorization") == f"Bearer {TOKEN}"
    return h.get("authorization") == f"token {TOKEN}"


def route(
    state: State,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    headers: dict[str, str],
    base: str,
) -> Result:
    state.requests.append((method, path, json.dumps(body)))
    for kind, pattern in (
        ("github", r"^/github/repos/(?P<p>[^/]+/[^/]+)/(?P<rest>.*)$"),
        ("gitlab", r"^/gitlab/api/v4/projects/(?P<p>[^/]+)/(?P<rest>.*)$"),
        ("gitea", r"^/gitea/api/v1/repos/(?P<p>[^/]+/[^/]+)/(?P<rest>.*)$"),
    ):
        m = re.match(pattern, path)
        if m:
            if not _authorized(kind, headers):
                return 401, {"message": "Bad credentials"}, {}
            project = unquote(m["p"])
            if project not in state.repos:
                return 404, {"message": "Not Found"}, {}
            handler = {"github": _github, "gitlab": _gitlab, "gitea": _gitea}[kind]
            return handler(state, project, method, m["rest"], query, body or {}, base)
    return 404, {"message": "Not Found"}, {}


def _page(
    items: list[dict[str, Any]], query: dict[str, str], size_key: str, base: str, path: str
) -> Result:
    size = int(query.get(size_key) or 30)
    page = int(query.get("page") or 1)
    chunk = items[(page - 1) * size : page * size]
    headers = {}
    if page * size < len(items):
        q = "&".join(f"{k}={v}" for k, v in {**query, "page": str(page + 1)}.items())
        headers["Link"] = f'<{base}{path}?{q}>; rel="next"'
        headers["X-Next-Page"] = str(page + 1)
    return 200, chunk, headers


def _github(
    state: State,
    project: str,
    method: str,
    rest: str,
    q: dict[str, str],
    body: dict[str, Any],
    base: str,
) -> Result:
    pulls = state.pulls.setdefault(("github", project), [])
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
        if any(
            p["head"]["ref"] == body["head"]
            and p["base"]["ref"] == body["base"]
            and p["state"] == "open"
            for p in pulls
        ):
            msg = f"A pull request already exists for {project.split('/')[0]}:{body['head']}."
            return 422, {"message": "Validation Failed", "errors": [{"message": msg}]}, {}
        n = len(pulls) + 1
        pr = {
            "number": n,
            "html_url": f"https://github.example/{project}/pull/{n}",
            "state": "open",
            "title": body["title"],
            "body": body.get("body") or "",
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "merged_at": None,
        }
        pulls.append(pr)
        return 201, pr, {}
    m = re.match(r"^pulls/(\d+)$", rest)
    if m and method == "GET":
        pr = next((p for p in pulls if p["number"] == int(m[1])), None)
        return (200, pr, {}) if pr else (404, {"message": "Not Found"}, {})
    m = re.match(r"^pulls/(\d+)/merge$", rest)
    if m and method == "PUT":
        pr = next((p for p in pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        if pr["state"] != "open":
            return 405, {"message": "Pull Request is not mergeable"}, {}
        sha = state.merge(project, pr["head"]["ref"], pr["base"]["ref"], pr["title"])
        if sha is None:
            return 405, {"message": "Pull Request is not mergeable"}, {}
        pr.update(state="closed", merged_at="2026-01-01T00:00:00Z", merge_commit_sha=sha)
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}
    m = re.match(r"^pulls/(\d+)$", rest)
    if m and method == "PATCH":
        pr = next((p for p in pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        for key in ("title", "body", "state"):
            if key in body:
                pr[key] = body[key]
        return 200, pr, {}
    m = re.match(r"^issues/(\d+)/comments$", rest)
    if m and method == "POST":
        state.comments.append(("github", project, int(m[1]), body.get("body", "")))
        return 201, {"id": len(state.comments), "body": body.get("body", "")}, {}
    m = re.match(r"^issues/comments/(\d+)$", rest)
    if m and method == "PATCH":
        return _edit_comment(state, "github", project, int(m[1]), body)
    m = re.match(r"^commits/([0-9a-f]{40})/pulls$", rest)
    if m and method == "GET":
        return 200, [p for p in pulls if state.head_sha(project, p["head"]["ref"]) == m[1]], {}
    m = re.match(r"^statuses/([^/]+)$", rest)
    if m and method == "POST":
        return _status("github", state, project, m[1], body, _GITHUB_STATES, "state")
    return 404, {"message": "Not Found"}, {}


def _gitlab(
    state: State,
    project: str,
    method: str,
    rest: str,
    q: dict[str, str],
    body: dict[str, Any],
    base: str,
) -> Result:
    mrs = state.pulls.setdefault(("gitlab", project), [])
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
        }
        mrs.append(mr)
        return 201, mr, {}
    m = re.match(r"^merge_requests/(\d+)$", rest)
    if m and method == "PUT":
        mr = next((p for p in mrs if p["iid"] == int(m[1])), None)
        if mr is None:
            return 404, {"message": "404 Not found"}, {}
        for key in ("title", "description"):
            if key in body:
                mr[key] = body[key]
        if body.get("state_event") == "close":
            mr["state"] = "closed"
        return 200, mr, {}
    m = re.match(r"^merge_requests/(\d+)/notes$", rest)
    if m and method == "POST":
        state.comments.append(("gitlab", project, int(m[1]), body.get("body", "")))
        return 201, {"id": len(state.comments), "body": body.get("body", "")}, {}
    m = re.match(r"^statuses/([^/]+)$", rest)
    if m and method == "POST":
        return _status("gitlab", state, project, m[1], body, _GITLAB_STATES, "state")
    return 404, {"message": "404 Not found"}, {}


def _gitea(
    state: State,
    project: str,
    method: str,
    rest: str,
    q: dict[str, str],
    body: dict[str, Any],
    base: str,
) -> Result:
    pulls = state.pulls.setdefault(("gitea", project), [])
    path = f"/gitea/api/v1/repos/{project}/{rest}"
    if rest == "pulls" and method == "GET":
        items = [p for p in pulls if q.get("state", "open") in ("all", p["state"])]
        status, chunk, _ = _page(items, q, "limit", base, path)
        return status, chunk, {"X-Total-Count": str(len(items))}
    if rest == "pulls" and method == "POST":
        for key in ("title", "head", "base"):
            if not body.get(key):
                return 422, {"message": f"[{key}]: Required"}, {}
        if not state.branch_exists(project, body["head"]):
            return 404, {"message": "The target couldn't be found."}, {}
        if any(
            p["head"]["ref"] == body["head"]
            and p["base"]["ref"] == body["base"]
            and p["state"] == "open"
            for p in pulls
        ):
            return 409, {"message": "pull request already exists for these targets"}, {}
        n = len(pulls) + 1
        pr = {
            "number": n,
            "html_url": f"https://gitea.example/{project}/pulls/{n}",
            "state": "open",
            "title": body["title"],
            "body": body.get("body") or "",
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "merged": False,
        }
        pulls.append(pr)
        return 201, pr, {}
    m = re.match(r"^pulls/(\d+)$", rest)
    if m and method == "GET":
        pr = next((p for p in pulls if p["number"] == int(m[1])), None)
        return (200, pr, {}) if pr else (404, {"message": "Not Found"}, {})
    m = re.match(r"^pulls/(\d+)/merge$", rest)
    if m and method == "PUT":
        pr = next((p for p in pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        if pr["state"] != "open":
            return 405, {"message": "Pull Request is not mergeable"}, {}
        sha = state.merge(project, pr["head"]["ref"], pr["base"]["ref"], pr["title"])
        if sha is None:
            return 405, {"message": "Pull Request is not mergeable"}, {}
        pr.update(state="closed", merged_at="2026-01-01T00:00:00Z", merge_commit_sha=sha)
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}
    m = re.match(r"^pulls/(\d+)$", rest)
    if m and method == "PATCH":
        pr = next((p for p in pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        for key in ("title", "body", "state"):
            if key in body:
                pr[key] = body[key]
        return 201, pr, {}
    m = re.match(r"^issues/(\d+)/comments$", rest)
    if m and method == "POST":
        state.comments.append(("gitea", project, int(m[1]), body.get("body", "")))
        return 201, {"id": len(state.comments), "body": body.get("body", "")}, {}
    m = re.match(r"^statuses/([^/]+)$", rest)
    if m and method == "POST":
        return _status("gitea", state, project, m[1], body, _GITEA_STATES, "state")
    return 404, {"message": "Not Found"}, {}


_GITHUB_STATES = {"error", "failure", "pending", "success"}
_GITEA_STATES = {"error", "failure", "pending", "success", "warning"}
_GITLAB_STATES = {"pending", "running", "success", "failed", "canceled", "skipped"}


def _edit_comment(state: State, kind: str, project: str, cid: int, body: dict[str, Any]) -> Result:
    """Edit comment ``cid`` (its 1-based place in ``state.comments``) of this forge and project."""
    if not 1 <= cid <= len(state.comments) or state.comments[cid - 1][:2] != (kind, project):
        return 404, {"message": "Not Found"}, {}
    k, proj, number, _ = state.comments[cid - 1]
    state.comments[cid - 1] = (k, proj, number, str(body.get("body", "")))
    state.edits += 1
    return 200, {"id": cid, "body": body.get("body", "")}, {}


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
