"""Propose updates as pull requests instead of pushing to the base branch.

For each group (one Application, or one image update when grouping is
``update``) the edits are re-applied to the newest base in the persistent
checkout, committed, and force-pushed to the group's branch only when the
branch's content or base differs — so a pull request is rebased when the
base moves and left alone otherwise. The pull request is created, or its
title and body updated; when the base already holds the edits, an open
pull request is closed; with per-update grouping, older pull requests for
the same image are closed as superseded, naming the new one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from shipway.git import forge as forge_mod
from shipway.git.repo import Repo
from shipway.updater import writeback
from shipway.updater.targets import GitTarget

ForgeFactory = Callable[[GitTarget], forge_mod.Forge]
PREFIX = "shipway/image-update"


@dataclass
class Proposal:
    commit: str | None
    pull_request: forge_mod.PullRequest | None
    branch: str
    pushed: bool = False
    closed: tuple[int, ...] = ()


def default_forge(target: GitTarget) -> forge_mod.Forge:
    """A forge client from the target's settings; the token comes from its env variable."""
    pr = target.pr
    assert pr is not None
    api = pr.api_url or forge_mod.default_api(pr.forge, target.repo_url)
    project = pr.project or forge_mod.project_from_url(target.repo_url)
    return forge_mod.open_forge(pr.forge, api, project, os.environ.get(pr.token_env, ""))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def branch_for(target: GitTarget, items: list[writeback.Item]) -> str:
    """``shipway/image-update/<app>`` or ``…/<app>/<alias>-<tag>`` per update."""
    first = items[0]
    app = _slug(first.watch.owner_name)
    assert target.pr is not None
    if target.pr.grouping == "update":
        return f"{PREFIX}/{app}/{_slug(first.watch.alias)}-{_slug(first.resolved.tag)}"
    return f"{PREFIX}/{app}"


def _title(items: list[writeback.Item]) -> str:
    changed = [i for i in items if i.changes]
    parts = ", ".join(f"{i.watch.alias} {i.resolved.tag}" for i in changed)
    return f"Update {items[0].watch.owner_name} images: {parts}"[:250]


def _remote_branch(repo: Repo, branch: str) -> tuple[str, str] | None:
    """(commit, parent) of the remote branch, fetched; None when it does not exist."""
    out = repo.run("ls-remote", "origin", f"refs/heads/{branch}").split()
    if not out:
        return None
    repo.run("fetch", "-q", "origin", f"+refs/heads/{branch}:refs/shipway/{branch}")
    parent = repo.run("rev-parse", f"refs/shipway/{branch}^").strip()
    return out[0], parent


def _needs_push(repo: Repo, branch: str, base: str) -> bool:
    remote = _remote_branch(repo, branch)
    if remote is None:
        return True
    sha, parent = remote
    if parent != base:
        return True  # the base moved: rebase (rebuild) the branch
    same_tree = repo.run("rev-parse", f"{sha}^{{tree}}").strip() == repo.head("HEAD^{tree}")
    return not same_tree


def propose(
    checkouts: writeback.Checkouts,
    target: GitTarget,
    items: list[writeback.Item],
    forge: forge_mod.Forge,
) -> Proposal:
    """Commit ``items`` on their branch over the newest base and open or refresh the PR."""
    branch = branch_for(target, items)
    with checkouts.locked(target) as repo:
        writeback.sync(repo, target)
        base = repo.head()
        files = apply_and_commit(repo, target, items)
        existing = forge.find_open(branch, target.branch)
        if files is None:  # the base already says all this
            if existing is not None:
                forge.close(existing.number, "The base branch already has these images.")
                return Proposal(None, None, branch, closed=(existing.number,))
            return Proposal(None, None, branch)
        commit = repo.head()
        pushed = _needs_push(repo, branch, base)
        if pushed:
            repo.push("origin", f"+HEAD:refs/heads/{branch}")
        title, body = _title(items), writeback.message(target, items)
        if existing is None:
            pr = forge.create(branch, target.branch, title, body)
        elif (existing.title, existing.body) != (title, body):
            pr = forge.update(existing.number, title=title, body=body)
        else:
            pr = existing
        closed = _close_superseded(forge, target, items, pr) if target.pr else ()
        return Proposal(commit if pushed else None, pr, branch, pushed, closed)


def apply_and_commit(
    repo: Repo, target: GitTarget, items: list[writeback.Item]
) -> list[str] | None:
    """Edit and commit locally (never pushed to the base); None when nothing changed."""
    files = writeback.apply_edits(repo.path, items)
    if not files:
        return None
    writeback.stage_and_commit(repo, target, files, writeback.message(target, items))
    return sorted(files)


def _close_superseded(
    forge: forge_mod.Forge,
    target: GitTarget,
    items: list[writeback.Item],
    current: forge_mod.PullRequest,
) -> tuple[int, ...]:
    """Per-update grouping: close older open PRs of the same application and image."""
    assert target.pr is not None
    if target.pr.grouping != "update":
        return ()
    first = items[0]
    stem = f"{PREFIX}/{_slug(first.watch.owner_name)}/{_slug(first.watch.alias)}-"
    closed = []
    for pr in forge.list_open(target.branch):
        if pr.head.startswith(stem) and pr.number != current.number:
            forge.close(pr.number, f"Superseded by #{current.number} ({current.url}).")
            closed.append(pr.number)
    return tuple(closed)
