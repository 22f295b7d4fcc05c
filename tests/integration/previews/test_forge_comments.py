"""Forge clients for previews, against the forge fake (GitHub, GitLab and Gitea shapes):
one comment created then edited in place, and the conditional open-pull-request listing
(ETag / If-None-Match) keeping 55 polled pull requests off the rate limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from forge_server import TOKEN, ForgeServer
from shipway.git import forge
from shipway.git.repo import Repo
from shipway.model.errors import NotFoundError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[ForgeServer]:
    srv = ForgeServer()
    yield srv
    srv.stop()


@pytest.fixture
def project(server: ForgeServer, git_server, tmp_path: Path) -> tuple[str, Repo]:  # type: ignore[no-untyped-def]
    name = f"org/app-{uuid.uuid4().hex[:6]}"
    url = git_server.bare(name)
    server.add_repo(name, git_server.base / f"{name}.git")
    work = Repo.init(tmp_path / "work")
    work.run("remote", "add", "origin", url)
    work.run("commit", "-q", "--allow-empty", "-m", "base")
    work.push("origin", "HEAD:refs/heads/main")
    work.run("push", "-q", "origin", *[f"HEAD:refs/heads/feature-{i}" for i in range(60)])
    return name, work


@pytest.mark.parametrize("kind", forge.KINDS)
def test_one_comment_edited_in_place(
    kind: str, server: ForgeServer, project: tuple[str, Repo]
) -> None:
    name, _ = project
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    pr = f.create("feature-0", "main", "Feature", "")
    first = f.create_comment(pr.number, "preview: deploying")
    f.edit_comment(pr.number, first.id, "preview: ready at http://127.0.0.1:1/")
    f.edit_comment(pr.number, first.id, "preview: ready at http://127.0.0.1:2/")
    assert server.comments_on(kind, name, pr.number) == ["preview: ready at http://127.0.0.1:2/"]
    listed = f.list_comments(pr.number)
    assert [(c.id, c.body) for c in listed] == [(first.id, "preview: ready at http://127.0.0.1:2/")]
    with pytest.raises(NotFoundError):
        f.edit_comment(pr.number, "999999", "gone")


@pytest.mark.parametrize("kind", forge.KINDS)
def test_polling_open_pulls_stays_off_the_rate_limit(
    kind: str, server: ForgeServer, project: tuple[str, Repo]
) -> None:
    name, work = project
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    for i in range(55):  # more than one page on every flavour
        f.create(f"feature-{i}", "main", f"pr {i}", "")
    first = f.list_pulls()
    assert sorted(p.head for p in first.pulls) == sorted(f"feature-{i}" for i in range(55))
    used = server.state.rate_used
    for _ in range(20):  # 20 polls of 55 pull requests: every page a 304
        again = f.list_pulls()
        assert not again.changed and len(again.pulls) == 55
    assert server.state.rate_used == used  # 304s are not counted against the limit
    work.run("commit", "-q", "--allow-empty", "-m", "more")
    work.push("origin", "HEAD:refs/heads/feature-3")
    moved = next(p for p in f.list_pulls().pulls if p.head == "feature-3")
    assert moved.head_sha == work.run("rev-parse", "HEAD").strip()
