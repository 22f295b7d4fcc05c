"""Other repositories of a run: the git source, and remote actions fetched into the action cache.

The git source is a base URL under which ``owner/name`` repositories live (as
GitHub's server URL): ``RunInfo.git_url``, else ``SHIPWAY_GIT_URL`` in the
run's env or the process environment. A remote action or called workflow
not in the action cache is fetched from there into
``<cache>/<owner>/<name>@<ref>/`` (into a temp dir first, then renamed, under
a lock, so a failed fetch leaves nothing and concurrent fetches are safe).
A tag or sha is cached for good; a branch entry is a symlink to
``<name>@<sha>`` and is re-resolved once per run. Touches only the action
cache; git runs through ``shipway.git.repo.git``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from shipway.ci.plan.refs import (
    Listing,
    RefError,
    RemoteUses,
    Resolved,
    auth_env,
    clone_urls,
    parse_ls_remote,
    resolve_ref,
)
from shipway.ci.runinfo import RunInfo
from shipway.git.repo import git
from shipway.model.errors import GitError

GIT_URL_ENV = "SHIPWAY_GIT_URL"
HOW_TO_SET = f"set {GIT_URL_ENV} or `shipway ci run --git-url URL`"


class RemoteError(Exception):
    """A repository, ref or fetch problem; the message names the repository and ref."""


def git_source(info: RunInfo) -> str:
    """The base URL of other repositories for this run ('' when none is set)."""
    base = info.git_url or info.env.get(GIT_URL_ENV) or os.environ.get(GIT_URL_ENV, "")
    return base.rstrip("/")


def locate(base: str, repo: str, token: str = "") -> tuple[str, Listing, str]:
    """The clone URL of ``repo`` under ``base``, its refs, and the token that worked.

    A token the source refuses is dropped for a second, anonymous try (a
    run's ``GITHUB_TOKEN`` means nothing to another forge; public repositories
    still come). ``RemoteError`` when the repository cannot be listed.
    """
    detail = ""
    for tok in dict.fromkeys([token, ""]):
        for url in clone_urls(base, repo):
            try:
                out = git(["ls-remote", "--symref", url], env=auth_env(url, tok), subject=url)
            except GitError as exc:
                detail = detail or exc.message
                continue
            return url, parse_ls_remote(out), tok
    raise RemoteError(f"repository {repo} not found at {base} ({detail})")


def resolve(listing: Listing, ref: str, repo: str) -> Resolved:
    try:
        return resolve_ref(listing, ref, repo)
    except RefError as exc:
        raise RemoteError(str(exc)) from None


def fetch_tree(url: str, res: Resolved, dest: Path, token: str, repo: str) -> None:
    """The files of ``repo`` at ``res`` (no ``.git``) into ``dest``, atomically."""
    tmp = dest.parent / f".tmp-{dest.name}-{uuid.uuid4().hex[:8]}"
    env = auth_env(url, token)
    try:
        tmp.mkdir(parents=True)
        git(["init", "-q", str(tmp)], subject=url)
        try:
            git(["fetch", "-q", "--depth=1", "--no-tags", url, res.full], tmp, subject=url, env=env)
        except GitError as exc:
            raise RemoteError(f"cannot fetch {repo}@{res.full}: {exc.message}") from None
        git(["-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"], tmp, subject=url)
        shutil.rmtree(tmp / ".git")
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _point(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target`` (a sibling name) in one rename."""
    tmp = link.parent / f".link-{link.name}-{uuid.uuid4().hex[:8]}"
    os.symlink(target, tmp)
    os.replace(tmp, link)


_checked: set[tuple[str, str]] = set()  # (run id, branch entry) re-resolved in this run
_checked_lock = threading.Lock()


def _seen(run_id: str, entry: Path) -> bool:
    with _checked_lock:
        return (run_id, str(entry)) in _checked


def _mark(run_id: str, entry: Path) -> None:
    with _checked_lock:
        if len(_checked) > 10_000:
            _checked.clear()
        _checked.add((run_id, str(entry)))


def ensure(
    info: RunInfo, uses: RemoteUses, token: str = "", log: Callable[[str], None] | None = None
) -> Path:
    """The action cache directory of ``uses.repo`` at ``uses.ref``, fetched on a miss.

    A directory vendored by hand is used as it is. Raises ``RemoteError``
    (saying why) when the repository cannot be had.
    """
    cache = info.action_cache
    if cache is None:
        raise RemoteError("the run has no action cache directory")
    entry = cache / uses.owner / f"{uses.name}@{uses.ref}"
    if entry.is_dir() and (not entry.is_symlink() or _seen(info.run_id, entry)):
        return entry
    base = git_source(info)
    if not base:
        if entry.is_dir():
            return entry  # a branch fetched before; nothing to re-resolve it against
        raise RemoteError(f"no git source is set to fetch {uses.repo} from ({HOW_TO_SET})")
    with _locked(cache / uses.owner / f".{uses.name}@{uses.ref}.lock"):
        if entry.is_dir() and (not entry.is_symlink() or _seen(info.run_id, entry)):
            return entry
        try:
            url, listing, token = locate(base, uses.repo, token)
            res = resolve(listing, uses.ref, uses.repo)
        except RemoteError:
            if entry.is_dir():
                return entry  # the source is down or the branch went away: keep what we have
            raise
        fetching = f"Download action repository '{uses.repo}@{uses.ref}' (SHA:{res.sha})"
        if res.kind == "branch":
            target = entry.parent / f"{uses.name}@{res.sha}"
            if not target.is_dir():
                if log is not None:
                    log(fetching)
                fetch_tree(url, res, target, token, uses.repo)
            _point(entry, target.name)
            _mark(info.run_id, entry)
        else:
            if log is not None:
                log(fetching)
            fetch_tree(url, res, entry, token, uses.repo)
    return entry
