"""``Forge.list_pulls`` against the forge fake: every open pull request over several pages,
with head sha, author and labels, through conditional requests page by page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from forge_server import TOKEN, USER, ForgeServer
from shipway.git.forge import open_forge

pytestmark = pytest.mark.integration


def _git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", *args], cwd=cwd,
                         check=True, capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


@pytest.mark.parametrize("kind", ["github", "gitlab", "gitea"])
def test_pages_and_304s(tmp_path: Path, kind: str) -> None:
    bare = tmp_path / "web.git"
    _git(tmp_path, "init", "-q", "--bare", str(bare))
    tree = _git(bare, "hash-object", "-t", "tree", "-w", "--stdin")
    base = _git(bare, "commit-tree", tree, "-m", "base")
    _git(bare, "update-ref", "refs/heads/main", base)
    heads = {}
    for i in range(120):
        heads[i] = _git(bare, "commit-tree", tree, "-p", base, "-m", f"pr {i}")
        _git(bare, "update-ref", f"refs/heads/b{i}", heads[i])
    forge = ForgeServer()
    try:
        forge.add_repo("team/web", bare)
        client = open_forge(kind, forge.api(kind), "team/web", TOKEN)
        made = [client.create(f"b{i}", "main", f"PR {i}", "") for i in range(120)]
        client.close(made[3].number)

        first = client.list_pulls()
        assert first.changed and first.not_modified == 0
        assert first.requests == (3 if kind == "gitea" else 2)  # 50 or 100 a page
        assert len(first.pulls) == 119
        by_number = {p.number: p for p in first.pulls}
        assert made[3].number not in by_number
        assert by_number[made[7].number].head_sha == heads[7]
        assert by_number[made[7].number].author == USER

        again = client.list_pulls()
        assert (again.changed, again.not_modified) == (False, again.requests)
        assert again.pulls == first.pulls

        forge.label(kind, "team/web", made[110].number, "preview")  # on the last page
        third = client.list_pulls()
        assert third.changed
        assert third.not_modified == third.requests - 1  # only the last page was sent again
        labelled = {p.number: p.labels for p in third.pulls}
        assert labelled[made[110].number] == ("preview",)
    finally:
        forge.stop()
