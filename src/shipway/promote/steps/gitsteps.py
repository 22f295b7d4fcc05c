"""git-clone, git-clear, git-commit and git-push, as Kargo runs them, through ``shipway.git.repo``.

git-clone clones once per repository into the work directory
(``.repos/<hash>``, no checkout) and adds one worktree per ``checkout``
entry at its ``path``: a branch (``create: true`` makes an empty orphan
branch when the remote has none), a commit or a tag (detached), or the
default branch. Running it again (a resumed promotion) replaces the
worktrees. git-commit commits everything under ``path`` (nothing to commit:
the output is the current commit). git-push is the only remote write: it
pushes to ``targetBranch`` (default: the checked-out branch) or, with
``generateTargetBranch``, to ``kargo/promotion/<promotion>`` (forced, as
Kargo does), pulling with rebase and trying again on a non-fast-forward
rejection up to ``maxAttempts``. Outputs: git-commit ``commit``; git-push
``branch`` and ``commit``. git-clone's ``blobless`` clones with ``--filter=blob:none``,
``sparse`` narrows a checkout to directories (cone mode), ``recurseSubmodules``
updates submodules in every checkout; its output ``commits`` maps each
checkout's ``as`` (else its ``path``) to the commit checked out. git-push's
``tag`` pushes that tag (made by the user's own git, e.g. a previous step).
Every git process that talks to the remote (clone, fetch, push, pull) carries
the credentials of the project's ``kargo.akuity.io/cred-type: git`` Secret for
that repository (``StepEnv.git_auth``), in its environment only.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from shipway.git.repo import Repo, clear_worktree, git
from shipway.model import kargo_step_configs as c
from shipway.model.errors import ConflictError, GitError, ShipwayError
from shipway.promote.steps.base import StepEnv, StepError, StepFailed, StepResult
from shipway.updater.gitauth import AuthRepo


def _base(env: StepEnv, url: str) -> Path:
    return env.work / ".repos" / hashlib.sha1(url.encode()).hexdigest()[:12]


def _has(repo: Repo, ref: str) -> bool:
    try:
        repo.run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
    except GitError:
        return False
    return True


def _auth(env: StepEnv, url: str) -> dict[str, str]:
    """The environment git needs to reach ``url`` (a Secret shipway cannot use fails the step)."""
    if env.git_auth is None:
        return {}
    try:
        return env.git_auth(url)
    except ShipwayError as exc:
        raise StepFailed(str(exc)) from None


def git_clone(env: StepEnv, cfg: c.GitClone) -> StepResult:
    base = _base(env, cfg.repo_url)
    auth = _auth(env, cfg.repo_url)
    try:
        if not (base / "HEAD").exists() and not (base / ".git").exists():
            shutil.rmtree(base, ignore_errors=True)
            base.parent.mkdir(parents=True, exist_ok=True)
            blobless = ["--filter=blob:none"] if cfg.blobless else []
            git(["clone", "-q", "--no-checkout", *blobless, cfg.repo_url, str(base)],
                subject=cfg.repo_url, env=auth)  # fmt: skip
        repo = AuthRepo(base, auth)
        if _has(repo, "HEAD"):  # detached: any branch may be checked out in a worktree
            repo.run("update-ref", "--no-deref", "HEAD", "HEAD")
        repo.fetch("origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
        if cfg.author is not None:
            if cfg.author.name:
                repo.run("config", "shipway.authorName", cfg.author.name)
            if cfg.author.email:
                repo.run("config", "shipway.authorEmail", cfg.author.email)
        commits: dict[str, str] = {}
        for co in cfg.checkout:
            _checkout(env, repo, co, cfg.repo_url)
            wt = AuthRepo(env.path(co.path), auth)
            if co.sparse:
                wt.run("sparse-checkout", "set", *co.sparse)
            if cfg.recurse_submodules:
                wt.run("submodule", "update", "-q", "--init", "--recursive")
            if _has(wt, "HEAD"):
                commits[co.as_ or co.path] = wt.head()
    except GitError as exc:
        raise StepError(f"{cfg.repo_url}: {exc.message}") from None
    return StepResult(output={"commits": commits})


def _checkout(env: StepEnv, repo: AuthRepo, co: c.Checkout, url: str) -> None:
    dest = env.path(co.path)
    if dest.exists():
        shutil.rmtree(dest)
    repo.run("worktree", "prune")
    if co.commit or co.tag:
        rev = co.commit or f"refs/tags/{co.tag}"
        if not _has(repo, rev):
            raise StepFailed(f"{'commit' if co.commit else 'tag'} {co.commit or co.tag!r} "
                             f"not found in {url}")  # fmt: skip
        repo.run("worktree", "add", "-q", "--detach", str(dest), rev)
        return
    branch = co.branch or _default_branch(repo)
    if _has(repo, f"refs/remotes/origin/{branch}"):
        repo.run("worktree", "add", "-q", "-f", "-B", branch, str(dest), f"origin/{branch}")
        return
    if not co.create:
        raise StepFailed(f"branch {branch!r} not found in {url} (set create: true to make it)")
    if _has(repo, "HEAD"):
        repo.run("worktree", "add", "-q", "-f", "--detach", str(dest))
        wt = Repo(dest)
        wt.run("checkout", "-q", "--orphan", branch)
        wt.run("rm", "-rfq", "--ignore-unmatch", ".")
    else:  # an empty repository: a clone of its own holds the first commit
        git(["clone", "-q", url, str(dest)], subject=url, env=repo.extra_env)
        Repo(dest).run("checkout", "-q", "--orphan", branch)


def _default_branch(repo: Repo) -> str:
    try:
        ref = repo.run("symbolic-ref", "-q", "refs/remotes/origin/HEAD").strip()
        return ref.removeprefix("refs/remotes/origin/")
    except GitError:
        return "main"


def git_clear(env: StepEnv, cfg: c.GitClear) -> StepResult:
    root = env.path(cfg.path)
    if not (root / ".git").exists():
        raise StepFailed(f"{cfg.path!r} is not a git working tree (clone it first)")
    clear_worktree(root)
    return StepResult()


def git_commit(env: StepEnv, cfg: c.GitCommit) -> StepResult:
    wt = _worktree(env, cfg.path)
    try:
        wt.add_all()
        if not wt.run("status", "--porcelain").strip():
            return StepResult(output={"commit": wt.head()}, message="nothing to commit")
        sha = wt.commit(cfg.message, author=_author(wt, cfg.author))
    except GitError as exc:
        raise StepError(exc.message) from None
    return StepResult(output={"commit": sha})


def _config(wt: Repo, key: str) -> str:
    try:
        return wt.run("config", "--get", key).strip()
    except GitError:
        return ""


def _author(wt: Repo, author: c.Author | None) -> str:
    """git-commit's author, else git-clone's, else Kargo's default."""
    name = (author.name if author else None) or _config(wt, "shipway.authorName") or "Kargo"
    email = (author.email if author else None) or _config(wt, "shipway.authorEmail")
    return f"{name} <{email or 'no-reply@kargo.io'}>"


def _worktree(env: StepEnv, rel: str) -> Repo:
    root = env.path(rel)
    if not (root / ".git").exists():
        raise StepFailed(f"{rel!r} is not a git working tree (clone it first)")
    return Repo(root)


def git_push(env: StepEnv, cfg: c.GitPush) -> StepResult:
    plain = _worktree(env, cfg.path)
    try:
        remote = plain.run("remote", "get-url", "origin").strip()
    except GitError as exc:
        raise StepFailed(f"{cfg.path!r} has no remote origin: {exc.message}") from None
    wt = AuthRepo(plain.path, _auth(env, remote))
    if cfg.tag:
        try:
            wt.push("origin", f"refs/tags/{cfg.tag}:refs/tags/{cfg.tag}")
        except (ConflictError, GitError) as exc:
            raise StepError(f"push of tag {cfg.tag}: {exc.message}") from None
        return StepResult(output={"tag": cfg.tag, "commit": wt.head()})
    if cfg.generate_target_branch:
        branch = f"kargo/promotion/{env.promotion}"
    elif cfg.target_branch:
        branch = cfg.target_branch
    else:
        try:
            branch = wt.run("symbolic-ref", "-q", "--short", "HEAD").strip()
        except GitError:
            raise StepFailed("HEAD is detached: set targetBranch") from None
    last = ""
    for _attempt in range(cfg.max_attempts):
        try:
            refspec = (
                f"{'+' if cfg.force or cfg.generate_target_branch else ''}HEAD:refs/heads/{branch}"
            )
            wt.push("origin", refspec)
            return StepResult(output={"branch": branch, "commit": wt.head()})
        except ConflictError as exc:
            last = exc.message
            try:
                wt.run("pull", "-q", "--rebase", "origin", branch)
            except GitError as pull_exc:
                raise StepError(
                    f"push to {branch} rejected; rebase failed: {pull_exc.message}"
                ) from None
        except GitError as exc:
            raise StepError(exc.message) from None
    raise StepError(f"push to {branch} failed after {cfg.max_attempts} attempts: {last}")


RUNNERS: dict[str, Any] = {
    "git-clone": git_clone,
    "git-clear": git_clear,
    "git-commit": git_commit,
    "git-push": git_push,
}
