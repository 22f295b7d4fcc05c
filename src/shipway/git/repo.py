"""A git repository on disk, driven through the ``git`` command line.

The only module that runs ``git`` for shipway's engines (and the one that empties a
working tree but its ``.git``). Errors become
``GitError`` with the repository path or URL as subject; a rejected
non-fast-forward push becomes ``ConflictError`` so callers can rebase and retry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shipway.model.errors import ConflictError, GitError

_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "shipway",
    "GIT_AUTHOR_EMAIL": "shipway@localhost",
    "GIT_COMMITTER_NAME": "shipway",
    "GIT_COMMITTER_EMAIL": "shipway@localhost",
}


def git(
    args: Sequence[str],
    cwd: Path | None = None,
    *,
    subject: str = "",
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> str:
    """Run git and return stdout; raise ``GitError`` with git's own message on failure."""
    full_env = {**os.environ, **_ENV, **(env or {})}
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            input=input,
            env=full_env,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed: {exc}", subject=subject or str(cwd)) from exc
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        text = msg[-1] if msg else f"exit status {proc.returncode}"
        if (
            args
            and args[0] == "push"
            and (
                "[rejected]" in proc.stderr
                or "fetch first" in proc.stderr
                or "non-fast-forward" in proc.stderr
            )
        ):
            raise ConflictError(
                f"push rejected (non-fast-forward): {text}", subject=subject or str(cwd)
            )
        raise GitError(f"git {' '.join(args[:2])}: {text}", subject=subject or str(cwd))
    return proc.stdout


def ls_remote(url: str, *, timeout: float = 60.0) -> dict[str, str]:
    """The refs a git server has now: ``ref -> sha`` (annotated tags also as ``ref^{}``).

    ``git://`` URLs are read over the git protocol in process (``lsremote``);
    others through ``git ls-remote``.
    """
    from shipway.git import lsremote

    direct = lsremote.refs(url, timeout)
    if direct is not None:
        return direct
    out = git(["ls-remote", "--", url], subject=url, timeout=timeout)
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if sha and ref:
            refs[ref.strip()] = sha.strip()
    return refs


@dataclass
class Repo:
    """A working tree (or bare repository) at ``path``."""

    path: Path

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
        return git(args, self.path, subject=str(self.path), input=input, env=env)

    @classmethod
    def init(cls, path: Path, *, bare: bool = False, branch: str = "main") -> Repo:
        path.mkdir(parents=True, exist_ok=True)
        args = ["init", "-q", f"--initial-branch={branch}"]
        if bare:
            args.append("--bare")
        git([*args, str(path)], subject=str(path))
        return cls(path)

    @classmethod
    def clone(
        cls, url: str, path: Path, *, branch: str | None = None, depth: int | None = None
    ) -> Repo:
        args = ["clone", "-q"]
        if branch:
            args += ["--branch", branch]
        if depth:
            args += ["--depth", str(depth)]
        path.parent.mkdir(parents=True, exist_ok=True)
        git([*args, url, str(path)], subject=url)
        return cls(path)

    def head(self, ref: str = "HEAD") -> str:
        return self.run("rev-parse", ref).strip()

    def fetch(self, remote: str = "origin", *refspecs: str) -> None:
        self.run("fetch", "-q", "--prune", remote, *refspecs)

    def checkout(self, rev: str, *, force: bool = True) -> None:
        self.run("checkout", "-q", *(["-f"] if force else []), rev)

    def reset_hard(self, rev: str) -> None:
        self.run("reset", "-q", "--hard", rev)

    def add_all(self) -> None:
        self.run("add", "-A")

    def has_changes(self) -> bool:
        return bool(self.run("status", "--porcelain").strip())

    def commit(self, message: str, *, author: str | None = None, signoff: bool = False) -> str:
        """Commit staged changes and return the new commit id."""
        args = ["commit", "-q", "-F", "-"]
        if author:
            args.append(f"--author={author}")
        if signoff:
            args.append("--signoff")
        self.run(*args, input=message)
        return self.head()

    def push(self, remote: str = "origin", refspec: str = "HEAD") -> None:
        self.run("push", "-q", remote, refspec)

    def show(self, rev: str, path: str) -> str:
        return self.run("show", f"{rev}:{path}")


def clear_worktree(root: Path) -> None:
    """Remove everything in the working tree ``root`` but its ``.git`` (links, not targets)."""
    for child in root.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
