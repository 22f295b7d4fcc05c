"""The forge fake's comments (GitLab: notes), a commit's pull requests and list pages.

Part of ``forge_server`` (see its docstring for what the fake promises): the
comment store's record (``Note``), each forge's documented answer for a
comment, creating, listing (in pages where the forge pages), editing and
deleting one, and which pull requests a commit belongs to. Touches only the
``State`` it is handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forge_server import State

USER = "octocat"

Result = tuple[int, Any, dict[str, str]]


@dataclass
class Note:
    """One comment (a GitLab note); ``system`` notes are GitLab's own, ``deleted`` ones gone."""

    id: int
    kind: str
    project: str
    number: int
    body: str
    system: bool = False
    deleted: bool = False
    created: str = ""
    updated: str = ""


_NOW = "2026-01-01T00:00:00Z"


def _note_shape(kind: str, n: Note, base: str) -> dict[str, Any]:
    """A comment as the forge documents its answer (GitHub's issue comment, Gitea's
    ``Comment``, GitLab's note)."""
    user = {"login": USER, "id": 1}
    if kind == "gitlab":
        return {"id": n.id, "body": n.body, "author": {"username": USER, "id": 1},
                "created_at": n.created, "updated_at": n.updated, "system": n.system,
                "noteable_type": "MergeRequest", "noteable_iid": n.number,
                "resolvable": False, "confidential": False, "internal": False}  # fmt: skip
    repo_api = f"{base}/{kind}/repos/{n.project}" if kind == "github" else ""
    html = f"https://{kind}.example/{n.project}/pull/{n.number}#issuecomment-{n.id}"
    out: dict[str, Any] = {"id": n.id, "body": n.body, "user": user, "html_url": html,
                           "created_at": n.created, "updated_at": n.updated}  # fmt: skip
    if kind == "github":
        out.update(
            node_id=f"IC_{n.id}",
            url=f"{repo_api}/issues/comments/{n.id}",
            issue_url=f"{repo_api}/issues/{n.number}",
            author_association="OWNER",
        )
    else:
        out.update(
            issue_url="",
            pull_request_url=html.split("#")[0],
            original_author="",
            original_author_id=0,
            assets=[],
        )
    return out


def _new_comment(state: State, kind: str, project: str, number: int, body: Any,
                 base: str, system: bool = False) -> Result:  # fmt: skip
    if not isinstance(body, str) or not body:
        return (400 if kind == "gitlab" else 422), {"message": "body is missing"}, {}
    note = Note(len(state.notes) + 1, kind, project, number, body, system, False, _NOW, _NOW)
    state.notes.append(note)
    return 201, _note_shape(kind, note, base), {}


def _find_note(state: State, kind: str, project: str, cid: int, number: int | None) -> Note | None:
    """Comment ``cid`` of this forge and project (and merge request, for GitLab)."""
    if not 1 <= cid <= len(state.notes):
        return None
    n = state.notes[cid - 1]
    if (n.kind, n.project) != (kind, project) or n.deleted or n.system:
        return None
    return n if number is None or n.number == number else None


def _comment_by_id(state: State, kind: str, project: str, method: str, cid: int,
                   number: int | None, body: dict[str, Any], base: str) -> Result:  # fmt: skip
    """``PATCH``/``PUT`` (edit) or ``DELETE`` one comment."""
    note = _find_note(state, kind, project, cid, number)
    if note is None:
        return 404, {"message": "404 Not found" if kind == "gitlab" else "Not Found"}, {}
    if method == "DELETE":
        note.deleted = True
        return 204, None, {}
    text = body.get("body")
    if not isinstance(text, str) or not text:
        return (400 if kind == "gitlab" else 422), {"message": "body is missing"}, {}
    note.body, note.updated = text, "2026-01-01T00:00:01Z"
    state.edits += 1
    return 200, _note_shape(kind, note, base), {}


def _list_comments(state: State, kind: str, project: str, number: int, q: dict[str, str],
                   base: str, path: str) -> Result:  # fmt: skip
    key = (kind, project, number)
    notes = [n for n in state.notes if (n.kind, n.project, n.number) == key and not n.deleted]
    if kind != "gitlab":
        notes = [n for n in notes if not n.system]
    elif q.get("sort", "desc") == "desc":  # GitLab lists notes newest first by default
        notes = notes[::-1]
    items = [_note_shape(kind, n, base) for n in notes]
    if kind == "gitea":  # Gitea's comment listing has no pages
        return 200, items, {}
    return _page(items, q, "per_page", base, path)


def _pulls_of_commit(
    state: State, kind: str, project: str, sha: str, pulls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The open and merged pull requests whose commits (base..head) include ``sha``, or whose
    merge made it; GitHub answers only merged ones once it is on the default branch."""
    on_main = kind == "github" and state.ancestor(project, sha, state.tip(project, "main"))
    out = []
    for p in pulls:
        head = p["sha"] if kind == "gitlab" else p["head"]["sha"]
        base_ref = p["target_branch"] if kind == "gitlab" else p["base"]["ref"]
        merge = str(p.get("merge_commit_sha") or "")
        merged = (
            p["state"] == "merged"
            if kind == "gitlab"
            else bool(p.get("merged_at") or p.get("merged"))
        )
        if not merged and p["state"] not in ("open", "opened"):
            continue  # closed without merging
        base_tip = state.bases_at_merge.get(merge, "") if merged else state.tip(project, base_ref)
        mine = state.ancestor(project, sha, head) and not state.ancestor(project, sha, base_tip)
        if merge == sha or (mine and (merged or not on_main)):
            out.append(p)
    return out


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
