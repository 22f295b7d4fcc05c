"""Forge clients for previews, against the forge fake (GitHub, GitLab and Gitea shapes):
one comment created then edited in place, and the conditional open-pull-request listing
(ETag / If-None-Match) that keeps polling off the rate limit."""

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
def test_conditional_listing_of_open_pulls(
    kind: str, server: ForgeServer, project: tuple[str, Repo]
) -> None:
    name, work = project
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    for i in range(55):  # more than one page on every flavour
        f.create(f"feature-{i}", "main", f"pr {i}", "")
    tip = work.run("rev-parse", "HEAD").strip()
    first = f.poll_open()
    assert first.changed and first.etag
    assert sorted(p.head for p in first.pulls) == sorted(f"feature-{i}" for i in range(55))
    assert {p.head_sha for p in first.pulls} == {tip}
    assert all(p.author == "dev" for p in first.pulls)
    used, unmodified = server.state.rate_used, server.state.not_modified
    for _ in range(20):
        again = f.poll_open(first.etag)
        assert not again.changed and again.pulls == [] and again.etag == first.etag
    assert server.state.rate_used == used  # 304s are not counted against the limit
    assert server.state.not_modified == unmodified + 20
    # a push to one head changes the listing: the new sha is seen, with a new ETag
    work.run("commit", "-q", "--allow-empty", "-m", "more")
    work.push("origin", "HEAD:refs/heads/feature-3")
    number = next(p.number for p in first.pulls if p.head == "feature-3")
    server.set_pull(kind, name, number, labels=["preview"], author="alice")
    changed = f.poll_open(first.etag)
    assert changed.changed and changed.etag != first.etag
    moved = next(p for p in changed.pulls if p.head == "feature-3")
    assert moved.head_sha == work.run("rev-parse", "HEAD").strip()
    assert (moved.labels, moved.author) == (("preview",), "alice")
