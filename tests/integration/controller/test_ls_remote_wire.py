"""The in-process ref advertisement reader against a real ``git daemon``, beside git's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.git import lsremote
from shipway.git.repo import Repo, git
from shipway.model.errors import GitError

pytestmark = pytest.mark.integration


def _git_ls_remote(url: str) -> dict[str, str]:
    out = git(["ls-remote", "--", url])
    return {ref: sha for sha, _, ref in (line.partition("\t") for line in out.splitlines())}


def test_refs_match_git_ls_remote(git_server, tmp_path: Path) -> None:
    url = git_server.bare("wire")
    work = Repo.clone(url, tmp_path / "work")
    work.run("checkout", "-q", "-B", "main")
    (work.path / "f").write_text("1")
    work.add_all()
    work.commit("one")
    work.run("tag", "-a", "v1", "-m", "annotated")
    work.run("tag", "light")
    work.run("branch", "other")
    work.run("push", "-q", "origin", "main", "other", "v1", "light")
    got = lsremote.refs(url, timeout=10)
    assert got == _git_ls_remote(url)
    assert got is not None and "refs/tags/v1^{}" in got and "HEAD" in got


def test_empty_repository_and_refusals(git_server) -> None:
    empty = git_server.bare("wire-empty")
    assert lsremote.refs(empty, timeout=10) == {} == _git_ls_remote(empty)
    with pytest.raises(GitError):
        lsremote.refs(git_server.url("no-such-repo"), timeout=10)
    assert lsremote.refs("/some/path.git", timeout=10) is None  # not git://: git runs
    assert lsremote.refs("https://example.invalid/x.git", timeout=10) is None
