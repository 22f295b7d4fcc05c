"""Native ``actions/checkout``: the run's repository at ``github.sha`` into the workspace.

Clones from the run's source (a local path or git URL) with shipway's git
adapter, then checks out the commit detached, as the real action does.
Touches only the target directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from shipway.ci.actions import ActionContext, ActionFailed
from shipway.git.repo import git
from shipway.model.errors import GitError


def run(ctx: ActionContext) -> None:
    repository = ctx.input("repository")
    if repository and repository.lower() != ctx.info.repository_name.lower():
        raise ActionFailed(
            f"actions/checkout: repository {repository!r} is not this run's repository; "
            "shipway checks out only the repository that triggered the run"
        )
    sub = ctx.input("path", ".")
    target = (ctx.workspace / sub).resolve()
    if not str(target).startswith(str(ctx.workspace.resolve())):
        raise ActionFailed(f"actions/checkout: path {sub!r} is outside the workspace")
    rev = ctx.input("ref") or ctx.info.commit
    clean = ctx.input("clean", "true").lower() == "true"
    _clear(target, clean)
    source = ctx.info.repo
    ctx.log(f"Checking out {rev} from {source} into {target}")
    try:
        if not (target / ".git").exists():
            target.mkdir(parents=True, exist_ok=True)
            git(["init", "-q", str(target)], subject=str(target))
            git(["remote", "add", "origin", source], target, subject=source)
        try:
            git(["fetch", "-q", "--no-tags", "origin", rev], target, subject=source)
            fetched = "FETCH_HEAD"
        except GitError:
            git(["fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*"], target,
                subject=source)  # fmt: skip
            fetched = rev
        git(["checkout", "-q", "--force", "--detach", fetched], target, subject=source)
        sha = git(["rev-parse", "HEAD"], target, subject=source).strip()
    except GitError as exc:
        raise ActionFailed(f"actions/checkout: {exc}") from None
    ctx.outputs["ref"] = rev
    ctx.outputs["commit"] = sha
    ctx.log(f"HEAD is now at {sha}")


def _clear(target: Path, clean: bool) -> None:
    if not target.exists() or not clean:
        return
    for child in target.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
