"""GitLab's merge request REST API (``/projects/{id}/merge_requests``), as documented.

The project is its full path, URL-encoded (``group%2Fsub%2Fproject``). Auth
``PRIVATE-TOKEN: <token>``. States are ``opened``/``closed``/``merged``
(reported here as open/closed/merged); closing is ``PUT state_event=close``;
comments are notes (``/merge_requests/{iid}/notes``, listed oldest first with
``sort=asc``, system notes left out, edited with ``PUT …/notes/{id}``); a
commit's merge requests are ``/repository/commits/{sha}/merge_requests``;
commit statuses are
``POST /projects/{id}/statuses/{sha}`` with GitLab's state words.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipway.git.forge import Comment, Forge, PullList, PullRequest

_STATES = {"opened": "open", "closed": "closed", "merged": "merged", "locked": "closed"}


def _mr(data: dict[str, Any]) -> PullRequest:
    return PullRequest(
        number=int(data["iid"]),
        url=str(data.get("web_url") or ""),
        head=str(data.get("source_branch") or ""),
        base=str(data.get("target_branch") or ""),
        title=str(data.get("title") or ""),
        body=str(data.get("description") or ""),
        state=_STATES.get(str(data.get("state")), str(data.get("state"))),
        merge_commit=str(data.get("merge_commit_sha") or ""),
        head_sha=str(data.get("sha") or ""),
        author=str((data.get("author") or {}).get("username") or ""),
        labels=tuple(
            str(lb.get("name", "")) if isinstance(lb, dict) else str(lb)
            for lb in data.get("labels") or []
        ),
    )


class GitLab(Forge):
    kind = "gitlab"

    def _headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token} if self.token else {}

    @property
    def _mrs(self) -> str:
        return f"/projects/{quote(self.project, safe='')}/merge_requests"

    def find_open(self, head: str, base: str) -> PullRequest | None:
        params = {"state": "opened", "source_branch": head, "target_branch": base}
        found = [_mr(d) for d in self.pages(self._mrs, params)]
        return next((p for p in found if p.head == head), None)

    def list_open(self, base: str) -> list[PullRequest]:
        params = {"state": "opened", "target_branch": base, "per_page": "100"}
        return [_mr(d) for d in self.pages(self._mrs, params)]

    def list_pulls(self) -> PullList:
        params = {"state": "opened", "per_page": "100"}
        items, stats = self.cached_pages(self._mrs, params)
        return self._listed([_mr(d) for d in items], stats)

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        payload = {
            "source_branch": head,
            "target_branch": base,
            "title": title,
            "description": body,
            "remove_source_branch": True,
        }
        return _mr(self.call("POST", self._mrs, json=payload).json())

    def update(self, number: int, *, title: str, body: str) -> PullRequest:
        payload = {"title": title, "description": body}
        return _mr(self.call("PUT", f"{self._mrs}/{number}", json=payload).json())

    def close(self, number: int, comment: str = "") -> None:
        if comment:
            self.create_comment(number, comment)
        self.call("PUT", f"{self._mrs}/{number}", json={"state_event": "close"})

    def get(self, number: int) -> PullRequest:
        return _mr(self.call("GET", f"{self._mrs}/{number}").json())

    def merge(self, number: int, method: str | None = None) -> PullRequest:
        body = {"squash": True} if method == "squash" else None
        return _mr(self.call("PUT", f"{self._mrs}/{number}/merge", json=body).json())

    def add_labels(self, number: int, labels: list[str]) -> None:
        self.call("PUT", f"{self._mrs}/{number}", json={"add_labels": ",".join(labels)})

    def create_comment(self, number: int, body: str) -> Comment:
        data = self.call("POST", f"{self._mrs}/{number}/notes", json={"body": body}).json()
        return Comment(str(data["id"]), str(data.get("body") or body))

    def list_comments(self, number: int) -> list[Comment]:
        params = {"sort": "asc", "order_by": "created_at", "per_page": "100"}
        items = self.pages(f"{self._mrs}/{number}/notes", params)
        return [Comment(str(d["id"]), str(d.get("body") or "")) for d in items
                if not d.get("system")]  # fmt: skip

    def edit_comment(self, number: int, comment_id: str, body: str) -> Comment:
        path = f"{self._mrs}/{number}/notes/{comment_id}"
        data = self.call("PUT", path, json={"body": body}).json()
        return Comment(str(data["id"]), str(data.get("body") or body))

    def pulls_for_commit(self, sha: str) -> list[int]:
        path = f"/projects/{quote(self.project, safe='')}/repository/commits/{sha}/merge_requests"
        return [int(d["iid"]) for d in self.pages(path, {"per_page": "100"})]

    def set_status(
        self, sha: str, state: str, context: str, description: str = "", target_url: str = ""
    ) -> None:
        payload = {"state": _GITLAB_STATES.get(state, state), "name": context,
                   "description": description[:255]}  # fmt: skip
        if target_url:
            payload["target_url"] = target_url
        self.call("POST", f"/projects/{quote(self.project, safe='')}/statuses/{sha}", json=payload)


_GITLAB_STATES = {"failure": "failed", "error": "failed"}  # GitLab's own words for those
