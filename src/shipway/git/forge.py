"""Forge APIs for pull requests: one interface, GitHub, GitLab and Gitea shapes.

``open_forge(kind, api_url, project, token)`` returns a ``Forge`` that can
find, list, create, update and close pull requests (GitLab's merge
requests), keep one comment on each (``create_comment``, ``list_comments``,
``edit_comment``, and ``put_comment`` on top of them: edit in place, find by a
hidden marker, or create), and name a commit's pull requests
(``pulls_for_commit``). ``list_pulls`` lists every open pull request with its
head commit, author and labels through conditional requests: the client keeps
each page's ``ETag`` and items, sends ``If-None-Match``, and a ``304`` (which
GitHub does not count against the rate limit) reuses the page.
Each flavour speaks its documented REST API (``forge_github``, ``forge_gitlab``,
``forge_gitea``) over httpx; HTTP and transport failures become ``ExternalError``
(``ConflictError`` for 409/422 "already exists"), ``NotFoundError`` for 404, with the
project as subject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from shipway.model.errors import ConflictError, ExternalError, InputError, NotFoundError

ForgeKind = Literal["github", "gitlab", "gitea"]
KINDS: tuple[str, ...] = ("github", "gitlab", "gitea")


@dataclass(frozen=True)
class PullRequest:
    """A pull (merge) request: ``number`` is GitHub's number, GitLab's iid, Gitea's index."""

    number: int
    url: str
    head: str
    base: str
    title: str
    body: str
    state: str  # "open", "closed" or "merged"
    merge_commit: str = ""
    """The commit a merge made (set once merged, where the forge says)."""
    head_sha: str = field(default="", compare=False)
    """The head commit (set by ``list_pulls`` and ``get``, where the forge says); this and
    the fields below change under a pull request without making it another one."""
    author: str = field(default="", compare=False)
    labels: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "url": self.url,
            "head": self.head,
            "base": self.base,
            "title": self.title,
            "state": self.state,
        }

    @classmethod
    def from_github_shape(cls, data: dict[str, Any], merged_key: str) -> PullRequest:
        """A pull request as GitHub (``merged_at`` set) or Gitea (``merged`` true) sends it."""
        state = "merged" if data.get(merged_key) else str(data.get("state") or "open")
        return cls(
            number=int(data["number"]),
            url=str(data.get("html_url") or ""),
            head=str((data.get("head") or {}).get("ref") or ""),
            base=str((data.get("base") or {}).get("ref") or ""),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            state=state,
            merge_commit=str(data.get("merge_commit_sha") or "") if state == "merged" else "",
            head_sha=str((data.get("head") or {}).get("sha") or ""),
            author=str((data.get("user") or {}).get("login") or ""),
            labels=tuple(
                str(lb.get("name", "")) for lb in data.get("labels") or [] if isinstance(lb, dict)
            ),
        )


@dataclass(frozen=True)
class Comment:
    """A pull request comment (GitLab: a note); ``id`` edits it later."""

    id: str
    body: str


@dataclass(frozen=True)
class PullList:
    """Every open pull request, and whether anything changed since the client's last list."""

    pulls: list[PullRequest]
    changed: bool
    requests: int
    """Requests this listing sent (``not_modified`` of them answered ``304``)."""
    not_modified: int = 0


@dataclass
class PullListStats:
    requests: int = 0
    not_modified: int = 0
    changed: bool = False


class Forge:
    """Common HTTP plumbing; flavours implement the five verbs."""

    kind: str = ""

    def __init__(
        self,
        api_url: str,
        project: str,
        token: str = "",
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        verify: bool = True,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.project = project.strip("/")
        self.token = token
        self.http = httpx.Client(
            timeout=timeout, transport=transport, headers=self._headers(), verify=verify
        )
        self.requests = 0
        self._pages: dict[str, tuple[str, list[dict[str, Any]], str]] = {}
        """Conditional-request cache: request URL -> (ETag, items, next page URL)."""

    def _headers(self) -> dict[str, str]:
        return {}

    def close_client(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; map failures onto the shipway error tree (``304`` is returned)."""
        self.requests += 1
        subject = f"{self.kind}:{self.project}"
        try:
            # params=None, not {}: httpx drops a URL's own query for an empty mapping
            resp = self.http.request(
                method, self.api_url + path, json=json, params=params or None, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ExternalError(f"cannot reach {self.api_url}: {exc}", subject=subject) from exc
        if resp.status_code < 300 or resp.status_code == 304:
            return resp
        msg = _message(resp)
        if resp.status_code == 404:
            raise NotFoundError(f"{method} {path}: not found ({msg})", subject=subject)
        if resp.status_code in (409, 422):
            raise ConflictError(f"{method} {path}: {resp.status_code} {msg}", subject=subject)
        raise ExternalError(f"{method} {path}: {resp.status_code} {msg}", subject=subject)

    def pages(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of a paginated list (``Link: rel="next"``; GitLab also ``X-Next-Page``)."""
        out: list[dict[str, Any]] = []
        url, query = path, dict(params)
        for _ in range(100):
            resp = self.call("GET", url, params=query or None)  # a next link keeps its query
            out += list(resp.json())
            nxt = resp.links.get("next", {}).get("url")
            if not nxt:
                break
            url, query = nxt.removeprefix(self.api_url), {}
        return out

    def cached_pages(
        self, path: str, params: dict[str, str], page_size: int = 0
    ) -> tuple[list[dict[str, Any]], PullListStats]:
        """Every item of a paginated list through conditional requests (see the module doc).

        The next page is the ``Link: rel="next"`` URL; without one, with ``page_size``, a
        full page is followed by ``page=N+1`` (Gitea's numbered pages)."""
        out: list[dict[str, Any]] = []
        stats = PullListStats()
        url, query, number = path, dict(params), 1
        for _ in range(100):
            # a next link carries its own query (httpx would replace it with ``params``)
            key = str(httpx.URL(self.api_url + url, params=query)) if query else self.api_url + url
            cached = self._pages.get(key)
            headers = {"If-None-Match": cached[0]} if cached and cached[0] else None
            resp = self.call("GET", url, params=query or None, headers=headers)
            stats.requests += 1
            if resp.status_code == 304 and cached is not None:
                stats.not_modified += 1
                items, nxt = cached[1], cached[2]
            else:
                stats.changed = True
                items = list(resp.json())
                nxt = resp.links.get("next", {}).get("url") or ""
                if not nxt and page_size and len(items) >= page_size:
                    nxt = str(
                        httpx.URL(self.api_url + path, params={**params, "page": str(number + 1)})
                    )
                self._pages[key] = (resp.headers.get("ETag", ""), items, nxt)
            out += items
            if not nxt:
                break
            url, query, number = nxt.removeprefix(self.api_url), {}, number + 1
        return out, stats

    def list_pulls(self) -> PullList:
        """Every open pull request of the project (any base), with head sha, author, labels."""
        raise NotImplementedError

    def _listed(self, items: list[PullRequest], stats: PullListStats) -> PullList:
        return PullList(items, stats.changed, stats.requests, stats.not_modified)

    # -- the interface ---------------------------------------------------------
    def find_open(self, head: str, base: str) -> PullRequest | None:
        found = [p for p in self.list_open(base) if p.head == head]
        return found[0] if found else None

    def list_open(self, base: str) -> list[PullRequest]:
        raise NotImplementedError

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        raise NotImplementedError

    def update(self, number: int, *, title: str, body: str) -> PullRequest:
        raise NotImplementedError

    def close(self, number: int, comment: str = "") -> None:
        raise NotImplementedError

    def get(self, number: int) -> PullRequest:
        """One pull request by number (``NotFoundError`` when there is none)."""
        raise NotImplementedError

    def merge(self, number: int, method: str | None = None) -> PullRequest:
        """Merge it now (``ConflictError`` when the forge says it cannot be merged);
        ``method`` as the forge names it (``merge``, ``squash``, ``rebase``)."""
        raise NotImplementedError

    def add_labels(self, number: int, labels: list[str]) -> None:
        """Add labels (by name) to a pull request."""
        raise NotImplementedError

    # -- the one comment API (notify's PR comment, a preview's comment) -------
    def create_comment(self, number: int, body: str) -> Comment:
        """Comment on a pull request; the comment's ``id`` edits it later."""
        raise NotImplementedError

    def list_comments(self, number: int) -> list[Comment]:
        """The pull request's comments, oldest first (GitLab's system notes left out)."""
        raise NotImplementedError

    def edit_comment(self, number: int, comment_id: str, body: str) -> Comment:
        """Replace a comment's text in place (``NotFoundError`` when it was deleted)."""
        raise NotImplementedError

    def pulls_for_commit(self, sha: str) -> list[int]:
        """The numbers of the pull requests associated with commit ``sha`` (its head, or
        the merge that brought it in), as the forge answers."""
        raise NotImplementedError

    def put_comment(
        self, number: int, body: str, *, comment_id: str = "", marker: str = ""
    ) -> Comment:
        """The one comment on a pull request, edited in place: ``comment_id`` when it is
        still there, else the first comment containing ``marker`` (a hidden tag in
        ``body``, found again after a lost id or a restart), else a new comment."""
        if comment_id:
            try:
                return self.edit_comment(number, comment_id, body)
            except NotFoundError:  # deleted by someone: look for it, or make a new one
                pass
        if marker:
            found = next((c for c in self.list_comments(number) if marker in c.body), None)
            if found is not None:
                return self.edit_comment(number, found.id, body)
        return self.create_comment(number, body)

    def set_status(
        self, sha: str, state: str, context: str, description: str = "", target_url: str = ""
    ) -> None:
        """Set a commit status: ``state`` is pending, success, failure or error."""
        raise NotImplementedError


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(data, dict):
        for key in ("message", "error", "errors"):
            if key in data:
                return str(data[key])[:300]
    return str(data)[:200]


def project_from_url(repo_url: str) -> str:
    """``https://github.com/org/repo.git`` -> ``org/repo`` (GitLab subgroups kept)."""
    path = urlsplit(repo_url).path if "://" in repo_url else repo_url.split(":", 1)[-1]
    return path.strip("/").removesuffix(".git")


def default_api(kind: str, repo_url: str) -> str:
    """The API root a forge serves for a repository URL's host."""
    host = (
        urlsplit(repo_url).hostname if "://" in repo_url else repo_url.split("@")[-1].split(":")[0]
    )
    if kind == "github":
        return "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    if kind == "gitlab":
        return f"https://{host}/api/v4"
    return f"https://{host}/api/v1"


Factory = Callable[..., Forge]


def open_forge(
    kind: str,
    api_url: str,
    project: str,
    token: str = "",
    *,
    transport: httpx.BaseTransport | None = None,
    verify: bool = True,
) -> Forge:
    """A client for ``kind`` (github, gitlab, gitea) at ``api_url`` for ``project``
    (``verify=False``: accept any TLS certificate, ApplicationSet's ``insecure``)."""
    from shipway.git import forge_gitea, forge_github, forge_gitlab

    classes: dict[str, type[Forge]] = {
        "github": forge_github.GitHub,
        "gitlab": forge_gitlab.GitLab,
        "gitea": forge_gitea.Gitea,
    }
    if kind not in classes:
        raise InputError(f"unknown forge {kind!r} (use {', '.join(KINDS)})", subject=project)
    return classes[kind](api_url, project, token, transport=transport, verify=verify)
