"""GitHub's pull request REST API (``/repos/{owner}/{repo}/pulls``), as documented.

Auth ``Authorization: Bearer <token>``; ``Accept: application/vnd.github+json``;
``X-GitHub-Api-Version: 2022-11-28``. Closing is ``PATCH state=closed``;
``get`` is ``GET /pulls/{n}``, merging ``PUT /pulls/{n}/merge``;
comments go to the issue (``POST``/``GET /issues/{number}/comments``, listed
100 a page, edited with ``PATCH /issues/comments/{id}``); a commit's pulls are
``GET /commits/{sha}/pulls``; commit statuses are ``POST /statuses/{sha}``
(Gitea takes the same shapes, except where ``forge_gitea`` says).
"""

from __future__ import annotations

from typing import Any

from shipway.git.forge import Comment, Forge, PullList, PullRequest


class GitHub(Forge):
    kind = "github"
    merged_key = "merged_at"  # the field that is set once a pull request is merged

    def _pr(self, data: dict[str, Any]) -> PullRequest:
        return PullRequest.from_github_shape(data, self.merged_key)

    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    @property
    def _repo(self) -> str:
        return f"/repos/{self.project}"

    def find_open(self, head: str, base: str) -> PullRequest | None:
        owner = self.project.split("/")[0]
        params = {"state": "open", "head": f"{owner}:{head}", "base": base}
        found = [self._pr(d) for d in self.pages(f"{self._repo}/pulls", params)]
        return next((p for p in found if p.head == head), None)

    def list_open(self, base: str) -> list[PullRequest]:
        params = {"state": "open", "base": base, "per_page": "100"}
        return [self._pr(d) for d in self.pages(f"{self._repo}/pulls", params)]

    def list_pulls(self) -> PullList:
        params = {"state": "open", "per_page": "100"}
        items, stats = self.cached_pages(f"{self._repo}/pulls", params)
        return self._listed([self._pr(d) for d in items], stats)

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return self._pr(self.call("POST", f"{self._repo}/pulls", json=payload).json())

    def update(self, number: int, *, title: str, body: str) -> PullRequest:
        payload = {"title": title, "body": body}
        return self._pr(self.call("PATCH", f"{self._repo}/pulls/{number}", json=payload).json())

    def close(self, number: int, comment: str = "") -> None:
        if comment:
            self.create_comment(number, comment)
        self.call("PATCH", f"{self._repo}/pulls/{number}", json={"state": "closed"})

    def get(self, number: int) -> PullRequest:
        return self._pr(self.call("GET", f"{self._repo}/pulls/{number}").json())

    def merge(self, number: int, method: str | None = None) -> PullRequest:
        self.call("PUT", f"{self._repo}/pulls/{number}/merge",
                  json={"merge_method": method or "merge"})  # fmt: skip
        return self.get(number)

    def add_labels(self, number: int, labels: list[str]) -> None:
        self.call("POST", f"{self._repo}/issues/{number}/labels", json={"labels": labels})

    def create_comment(self, number: int, body: str) -> Comment:
        got = self.call("POST", f"{self._repo}/issues/{number}/comments", json={"body": body})
        return _comment(got.json(), body)

    def list_comments(self, number: int) -> list[Comment]:
        items = self.pages(f"{self._repo}/issues/{number}/comments", {"per_page": "100"})
        return [_comment(d) for d in items]

    def edit_comment(self, number: int, comment_id: str, body: str) -> Comment:
        got = self.call("PATCH", f"{self._repo}/issues/comments/{comment_id}", json={"body": body})
        return _comment(got.json(), body)

    def pulls_for_commit(self, sha: str) -> list[int]:
        found = self.pages(f"{self._repo}/commits/{sha}/pulls", {"per_page": "100"})
        return [int(d["number"]) for d in found]

    def set_status(
        self, sha: str, state: str, context: str, description: str = "", target_url: str = ""
    ) -> None:
        payload = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            payload["target_url"] = target_url
        self.call("POST", f"{self._repo}/statuses/{sha}", json=payload)


def _comment(data: dict[str, Any], sent: str = "") -> Comment:
    """A comment as GitHub and Gitea answer it (an answer without a body: what was sent)."""
    return Comment(str(data["id"]), str(data.get("body") or sent))
