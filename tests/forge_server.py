"""An in-process forge API server speaking the documented GitHub, GitLab and Gitea shapes.

No forge can run on this machine, so pull requests are tested against this
server. It keeps pull requests in memory, checks each flavour's auth header,
refuses a second open pull request for the same branches with that forge's
status (GitHub 422, GitLab 409, Gitea 409), paginates lists the way each
forge does, and — to stay honest about git — refuses a head branch that does
not exist in the real bare repository behind the git daemon.

Every ``GET`` answer carries an ``ETag`` (a hash of its body); a request whose
``If-None-Match`` names it gets ``304 Not Modified`` with no body, as GitHub
answers conditional requests. Pull requests carry their head commit (read from
the bare repository at each answer, so a push shows), their author (``USER``)
and labels (``ForgeServer.label``).
``set_pull`` changes state, labels and author.

Comments (GitLab: notes) are one store with global ids, as the forges number
them: created, listed (GitHub and GitLab in pages, GitLab newest first unless
``sort=asc``, with its system notes, which it writes when a merge request is
edited or closed; Gitea whole), edited in place (404 for a comment of another
project or merge request, or one deleted) and deleted (the REST ``DELETE``, or
``ForgeServer.delete_comment`` as a person would), each answer in the forge's
documented shape. A commit's pull requests: GitHub's ``/commits/{sha}/pulls``
and GitLab's ``/repository/commits/{sha}/merge_requests`` answer those whose
head contains it (GitHub: only merged ones once it is on the default branch),
Gitea's ``/commits/{sha}/pull`` the one whose merge made it (404 when none).
GitHub's ``/pulls/{n}/files`` lists what the head changed since it left the base
(``git diff base...head`` in the bare repository), in pages.
GitHub Apps mint installation tokens (``forge_apps``), taken as credentials after;
GitHub deployments, their statuses and check runs are ``forge_checks``; Bitbucket
Cloud's commit build statuses (under ``/bitbucket/2.0``) ``forge_bitbucket``.
A 304, as on GitHub, is not counted in
``X-RateLimit-Remaining`` (``state.rate_used`` counts the others).
``state.refuse_statuses`` makes commit statuses fail with a 403.

Mounted at ``/github``, ``/gitlab/api/v4`` and ``/gitea/api/v1``. This module holds the
state and the HTTP server and checks auth; each forge's routes are in ``forge_routes``,
comments and list pages in ``forge_notes``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import forge_apps
from forge_notes import USER as USER  # re-exported: tests name the pull requests' author
from forge_notes import Note, Result
from forge_routes import gitea, github, gitlab
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
    notes: list[Note] = field(default_factory=list)  # note ``id`` is its place + 1
    statuses: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    edits: int = 0  # comments edited in place
    exchanges: list[Exchange] = field(default_factory=list)  # every request with its answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    rate_used: int = 0  # requests counted against the rate limit (a 304 is not)
    not_modified: int = 0  # 304 answers
    refuse_statuses: bool = False
    bases_at_merge: dict[str, str] = field(default_factory=dict)  # merge commit -> base before
    apps: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (app, installation) -> key
    app_tokens: set[str] = field(default_factory=set)  # installation tokens minted
    deployments: list[dict[str, Any]] = field(default_factory=list)  # GitHub's (forge_checks)
    deployment_statuses: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    dispatches: list[dict[str, Any]] = field(default_factory=list)  # repository_dispatch

    @property
    def comments(self) -> list[tuple[str, str, int, str]]:
        """Every comment people (and shipway) wrote and did not delete, oldest first:
        ``(kind, project, number, body)``."""
        return [(n.kind, n.project, n.number, n.body) for n in self.notes
                if not n.system and not n.deleted]  # fmt: skip

    def ancestor(self, project: str, sha: str, tip: str) -> bool:
        """Whether commit ``sha`` is ``tip`` or one of its ancestors."""
        if not tip or not self.commit_exists(project, sha):
            return False
        try:
            Repo(self.repos[project]).run("merge-base", "--is-ancestor", sha, tip)
        except GitError:
            return False
        return True

    def tip(self, project: str, branch: str) -> str:
        bare = self.repos.get(project)
        if bare is None:
            return ""
        try:
            return Repo(bare).run("rev-parse", "--verify", "-q", f"refs/heads/{branch}").strip()
        except GitError:
            return ""

    def branch_exists(self, project: str, branch: str) -> bool:
        bare = self.repos.get(project)
        if bare is None:
            return False
        out = Repo(bare).run("for-each-ref", "--format=%(refname)", f"refs/heads/{branch}")
        return bool(out.strip())

    def merge(self, project: str, head: str, base: str, title: str) -> str | None:
        """Merge ``head`` into ``base`` in the real bare repository (None on a conflict)."""
        repo = Repo(self.repos[project])
        before = self.tip(project, base)
        try:
            tree = repo.run("merge-tree", "--write-tree", base, head).split()[0]
            sha = repo.run(
                "commit-tree", tree, "-p", base, "-p", head, "-m", f"Merge: {title}"
            ).strip()
        except GitError:
            return None
        repo.run("update-ref", f"refs/heads/{base}", sha)
        self.bases_at_merge[sha] = before
        return sha

    def heads(self, project: str) -> dict[str, str]:
        """Each branch of the bare repository and the commit it points at (one git call)."""
        bare = self.repos.get(project)
        if bare is None:
            return {}
        out = Repo(bare).run("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
        pairs = (line.split(" ", 1) for line in out.splitlines() if " " in line)
        return {ref.removeprefix("refs/heads/"): sha for sha, ref in pairs}

    def head_sha(self, project: str, branch: str) -> str:
        """The commit at the tip of ``branch`` in the bare repository ("" when none)."""
        try:
            return Repo(self.repos[project]).run("rev-parse", f"refs/heads/{branch}").strip()
        except (GitError, KeyError):
            return ""

    def changed_files(self, project: str, base: str, head: str) -> list[tuple[str, str]]:
        """(GitHub's status word, file name) of each file ``head`` changed since it left
        ``base`` (``git diff base...head``) in the bare repository."""
        words = {"A": "added", "M": "modified", "D": "removed"}
        out = Repo(self.repos[project]).run("diff", "--name-status", f"{base}...{head}")
        pairs = (line.split("\t", 1) for line in out.splitlines() if "\t" in line)
        return [(words.get(st[:1], "modified"), name) for st, name in pairs]

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
                data = b"" if body is None else json.dumps(body).encode()
                if status in (204, 304):  # no body, as HTTP says
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    return
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
                    if method == "GET" and status == 200:
                        digest = hashlib.sha256(json.dumps(out, sort_keys=True).encode())
                        etag = f'"{digest.hexdigest()[:32]}"'
                        headers = {**headers, "ETag": etag}
                        if self.headers.get("If-None-Match") == etag:
                            status = 304
                    if status == 304:
                        state.not_modified += 1
                    else:  # what GitHub counts against the rate limit
                        state.rate_used += 1
                    headers = {**headers, "X-RateLimit-Remaining": str(5000 - state.rate_used)}
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

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def api(self, kind: str) -> str:
        suffix = {
            "github": "/github",
            "gitlab": "/gitlab/api/v4",
            "gitea": "/gitea/api/v1",
            "bitbucket": "/bitbucket/2.0",
        }[kind]
        return f"http://127.0.0.1:{self.port}{suffix}"

    def add_repo(self, project: str, bare: Path) -> None:
        self.state.repos[project] = bare

    def open_pulls(self, kind: str, project: str) -> list[dict[str, Any]]:
        open_word = "opened" if kind == "gitlab" else "open"
        return [p for p in self.state.pulls.get((kind, project), []) if p["state"] == open_word]

    def set_pull(self, kind: str, project: str, number: int, **fields: Any) -> None:
        """Change a pull request as a person would on the forge: ``state``, ``labels``,
        ``author`` (each flavour's own shape is written)."""
        key = "iid" if kind == "gitlab" else "number"
        with self.state.lock:
            pr = next(p for p in self.state.pulls[(kind, project)] if p[key] == number)
            for name, value in fields.items():
                if name == "labels":
                    pr["labels"] = list(value) if kind == "gitlab" else [{"name": v} for v in value]
                elif name == "author":
                    pr["author" if kind == "gitlab" else "user"] = (
                        {"username": value} if kind == "gitlab" else {"login": value}
                    )
                elif name == "state" and value == "merged":
                    pr["state"] = "merged" if kind == "gitlab" else "closed"
                    pr["merged_at" if kind == "github" else "merged"] = (
                        "2026-01-01T00:00:00Z" if kind == "github" else True
                    )
                elif name == "state" and value == "closed":
                    pr["state"] = "closed"
                else:
                    pr[name] = value

    def comments_on(self, kind: str, project: str, number: int) -> list[str]:
        return [c[3] for c in self.state.comments if c[:3] == (kind, project, number)]

    def delete_comment(self, kind: str, project: str, number: int, body_part: str) -> None:
        """Delete the comments on a pull request containing ``body_part``, as a person would."""
        with self.state.lock:
            for n in self.state.notes:
                if (n.kind, n.project, n.number) == (kind, project, number) and not n.system:
                    n.deleted = n.deleted or body_part in n.body

    def statuses_of(self, kind: str, project: str, sha: str) -> list[dict[str, Any]]:
        return [s[3] for s in self.state.statuses if s[:3] == (kind, project, sha)]

    def label(self, kind: str, project: str, number: int, *labels: str) -> None:
        """Put labels on a pull request (replacing its labels), as a person would."""
        key = "iid" if kind == "gitlab" else "number"
        with self.state.lock:
            for pr in self.state.pulls.get((kind, project), []):
                if pr[key] == number:
                    if kind == "gitlab":
                        pr["labels"] = list(labels)
                    else:
                        pr["labels"] = [{"id": i + 1, "name": n} for i, n in enumerate(labels)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _authorized(kind: str, headers: dict[str, str], state: State | None = None) -> bool:
    h = {k.lower(): v for k, v in headers.items()}
    if kind == "github":
        auth = h.get("authorization", "")
        minted = state is not None and auth.removeprefix("Bearer ") in state.app_tokens
        return auth == f"Bearer {TOKEN}" or minted
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
    if path.startswith("/bitbucket/"):
        import forge_bitbucket

        found = forge_bitbucket.route(state, method, path, body, headers)
        return found if found is not None else (404, {"message": "Not Found"}, {})
    app = re.match(r"^/github/app/installations/([^/]+)/access_tokens$", path)
    if app and method == "POST":
        return forge_apps.access_tokens(state, app[1], headers)
    for kind, pattern in (
        ("github", r"^/github/repos/(?P<p>[^/]+/[^/]+)/(?P<rest>.*)$"),
        ("gitlab", r"^/gitlab/api/v4/projects/(?P<p>[^/]+)/(?P<rest>.*)$"),
        ("gitea", r"^/gitea/api/v1/repos/(?P<p>[^/]+/[^/]+)/(?P<rest>.*)$"),
    ):
        m = re.match(pattern, path)
        if m:
            if not _authorized(kind, headers, state):
                return 401, {"message": "Bad credentials"}, {}
            project = unquote(m["p"])
            if project not in state.repos:
                return 404, {"message": "Not Found"}, {}
            handler = {"github": github, "gitlab": gitlab, "gitea": gitea}[kind]
            return handler(state, project, method, m["rest"], query, body or {}, base)
    return 404, {"message": "Not Found"}, {}
