"""Forge APIs for pull requests: one interface, GitHub, GitLab and Gitea shapes.

``open_forge(kind, api_url, project, token)`` returns a ``Forge`` that can
find, list, create, update and close pull requests (GitLab's merge
requests) and comment on them. Each flavour speaks its documented REST API
(``forge_github``, ``forge_gitlab``, ``forge_gitea``) over httpx; HTTP and
transport failures become ``ExternalError`` (``ConflictError`` for 409/422
"already exists"), ``NotFoundError`` for 404, with the project as subject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
        )


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
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.project = project.strip("/")
        self.token = token
        self.http = httpx.Client(timeout=timeout, transport=transport, headers=self._headers())
        self.requests = 0

    def _headers(self) -> dict[str, str]:
        return {}

    def close_client(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        """Send one request; map failures onto the shipway error tree."""
        self.requests += 1
        subject = f"{self.kind}:{self.project}"
        try:
            resp = self.http.request(method, self.api_url + path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise ExternalError(f"cannot reach {self.api_url}: {exc}", subject=subject) from exc
        if resp.status_code < 300:
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
            resp = self.call("GET", url, params=query)
            out += list(resp.json())
            nxt = resp.links.get("next", {}).get("url")
            if not nxt:
                break
            url, query = nxt.removeprefix(self.api_url), {}
        return out

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

    def merge(self, number: int) -> PullRequest:
        """Merge it now (``ConflictError`` when the forge says it cannot be merged)."""
        raise NotImplementedError

    def comment(self, number: int, body: str) -> None:
        raise NotImplementedError

    def pulls_for_commit(self, sha: str) -> list[int]:
        """The numbers of the pull requests whose head is (or contains) commit ``sha``."""
        raise NotImplementedError

    def add_comment(self, number: int, body: str) -> str:
        """Comment on a pull request; returns the comment's id (to edit it later)."""
        raise NotImplementedError

    def edit_comment(self, number: int, comment_id: str, body: str) -> None:
        """Replace the text of comment ``comment_id`` (``NotFoundError`` when it is gone)."""
        raise NotImplementedError

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
) -> Forge:
    """A client for ``kind`` (github, gitlab, gitea) at ``api_url`` for ``project``."""
    from shipway.git import forge_gitea, forge_github, forge_gitlab

    classes: dict[str, type[Forge]] = {
        "github": forge_github.GitHub,
        "gitlab": forge_gitlab.GitLab,
        "gitea": forge_gitea.Gitea,
    }
    if kind not in classes:
        raise InputError(f"unknown forge {kind!r} (use {', '.join(KINDS)})", subject=project)
    return classes[kind](api_url, project, token, transport=transport)
