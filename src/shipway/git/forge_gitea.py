"""Gitea's (and Forgejo's) pull request REST API (``/repos/{owner}/{repo}/pulls``), as documented.

Auth ``Authorization: token <token>``. Listing has no head filter, so open
pulls are listed (``state=open``, ``limit``/``page``) and filtered here;
closing is ``PATCH state=closed``;
merging ``POST /pulls/{index}/merge``; comments go to ``/issues/{index}/comments``
(edited at ``/issues/comments/{id}``, as GitHub; listed whole, Gitea's listing
has no pages); a commit's pull requests are the open ones whose head it is and
the one that merged it (``GET /commits/{sha}/pull``, 404 when none did).
"""

from __future__ import annotations

from shipway.git.forge import Comment, Forge, PullList, PullRequest
from shipway.git.forge_github import GitHub, _comment
from shipway.model.errors import NotFoundError


class Gitea(GitHub):
    """Gitea speaks GitHub's shapes for creating, updating, closing and commenting."""

    kind = "gitea"
    merged_key = "merged"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"} if self.token else {}

    # Gitea's listing has no head filter: find among the open pulls, as any forge can.
    find_open = Forge.find_open

    def merge(self, number: int, method: str | None = None) -> PullRequest:
        self.call("POST", f"{self._repo}/pulls/{number}/merge", json={"Do": method or "merge"})
        return self.get(number)

    def list_pulls(self) -> PullList:
        params = {"state": "open", "limit": "50"}
        items, stats = self.cached_pages(f"{self._repo}/pulls", params, page_size=50)
        return self._listed([self._pr(d) for d in items], stats)

    def list_comments(self, number: int) -> list[Comment]:
        items = self.call("GET", f"{self._repo}/issues/{number}/comments").json()
        return [_comment(d) for d in items]

    def pulls_for_commit(self, sha: str) -> list[int]:
        heads = [p.number for p in self.list_pulls().pulls if p.head_sha == sha]
        try:
            merged = int(self.call("GET", f"{self._repo}/commits/{sha}/pull").json()["number"])
        except NotFoundError:
            return heads
        return heads if merged in heads else [*heads, merged]

    def list_open(self, base: str) -> list[PullRequest]:
        out: list[PullRequest] = []
        for page in range(1, 100):
            params = {"state": "open", "limit": "50", "page": str(page)}
            batch = self.call("GET", f"{self._repo}/pulls", params=params).json()
            out += [self._pr(d) for d in batch]
            if len(batch) < 50:
                break
        return [p for p in out if p.base == base]
