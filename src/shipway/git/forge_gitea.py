"""Gitea's (and Forgejo's) pull request REST API (``/repos/{owner}/{repo}/pulls``), as documented.

Auth ``Authorization: token <token>``. Listing has no head filter, so open
pulls are listed (``state=open``, ``limit``/``page``) and filtered here;
closing is ``PATCH state=closed``; comments go to ``/issues/{index}/comments``.
"""

from __future__ import annotations

from typing import Any

from shipway.git.forge import Forge, PullRequest


def _pr(data: dict[str, Any]) -> PullRequest:
    return PullRequest.from_github_shape(data, "merged")


class Gitea(Forge):
    kind = "gitea"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"} if self.token else {}

    @property
    def _repo(self) -> str:
        return f"/repos/{self.project}"

    def list_open(self, base: str) -> list[PullRequest]:
        out: list[PullRequest] = []
        for page in range(1, 100):
            params = {"state": "open", "limit": "50", "page": str(page)}
            batch = self.call("GET", f"{self._repo}/pulls", params=params).json()
            out += [_pr(d) for d in batch]
            if len(batch) < 50:
                break
        return [p for p in out if p.base == base]

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return _pr(self.call("POST", f"{self._repo}/pulls", json=payload).json())

    def update(self, number: int, *, title: str, body: str) -> PullRequest:
        payload = {"title": title, "body": body}
        return _pr(self.call("PATCH", f"{self._repo}/pulls/{number}", json=payload).json())

    def close(self, number: int, comment: str = "") -> None:
        if comment:
            self.comment(number, comment)
        self.call("PATCH", f"{self._repo}/pulls/{number}", json={"state": "closed"})

    def comment(self, number: int, body: str) -> None:
        self.call("POST", f"{self._repo}/issues/{number}/comments", json={"body": body})
