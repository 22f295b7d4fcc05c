"""One contract suite for the three forge clients against the in-process forge server.

Every flavour must behave the same through the ``Forge`` interface: create,
find, list (across pages), refuse a duplicate with ``ConflictError``, update,
comment, close, and map auth and missing-branch failures onto the error tree.
The one comment API (create, list across pages, edit in place, ``put_comment``
by id or hidden marker, a deleted comment) and a commit's pull requests are
part of the contract; nothing here depends on the fake beyond its URL, token
and a person's deleting a comment, so the suite could run against a real forge.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from forge_server import TOKEN, ForgeServer
from shipway.git import forge
from shipway.git.repo import Repo
from shipway.model.errors import ConflictError, ExternalError, NotFoundError, ShipwayError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[ForgeServer]:
    srv = ForgeServer()
    yield srv
    srv.stop()


@pytest.fixture
def project(server: ForgeServer, git_server, tmp_path: Path) -> tuple[str, Repo]:  # type: ignore[no-untyped-def]
    name = f"org/config-{uuid.uuid4().hex[:6]}"
    url = git_server.bare(name)
    server.add_repo(name, git_server.base / f"{name}.git")
    work = Repo.init(tmp_path / "work")
    work.run("remote", "add", "origin", url)
    work.run("commit", "-q", "--allow-empty", "-m", "base")
    work.push("origin", "HEAD:refs/heads/main")
    refs = [f"HEAD:refs/heads/update-{i}" for i in range(35)]
    work.run("push", "-q", "origin", *refs)
    return name, work


@pytest.mark.parametrize("kind", forge.KINDS)
def test_pull_request_lifecycle(kind: str, server: ForgeServer, project: tuple[str, Repo]) -> None:
    name, _ = project
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    pr = f.create("update-0", "main", "Update images", "body one")
    assert (pr.head, pr.base, pr.state, pr.title, pr.body) == (
        "update-0", "main", "open", "Update images", "body one"
    )  # fmt: skip
    assert pr.number >= 1 and pr.url
    assert f.find_open("update-0", "main") == pr
    assert f.find_open("update-1", "main") is None
    with pytest.raises(ConflictError):
        f.create("update-0", "main", "again", "")
    updated = f.update(pr.number, title="Update images (2)", body="body two")
    assert (updated.number, updated.title, updated.body) == (
        pr.number,
        "Update images (2)",
        "body two",
    )
    f.close(pr.number, comment="superseded")
    assert f.find_open("update-0", "main") is None
    assert all(p.number != pr.number for p in f.list_open("main"))
    assert (kind, name, pr.number, "superseded") in server.state.comments


@pytest.mark.parametrize("kind", forge.KINDS)
def test_listing_follows_pages(kind: str, server: ForgeServer, project: tuple[str, Repo]) -> None:
    name, _ = project
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    for i in range(1, 35):
        f.create(f"update-{i}", "main", f"pr {i}", "")
    found = f.list_open("main")
    assert sorted(p.head for p in found) == sorted(f"update-{i}" for i in range(1, 35))
    assert f.find_open("update-34", "main") is not None


@pytest.mark.parametrize("kind", forge.KINDS)
def test_failures_map_onto_the_error_tree(
    kind: str, server: ForgeServer, project: tuple[str, Repo]
) -> None:
    name, _ = project
    with pytest.raises(ExternalError):
        forge.open_forge(kind, server.api(kind), name, "wrong").list_open("main")
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    with pytest.raises(ShipwayError):
        f.create("no-such-branch", "main", "t", "")
    with pytest.raises(ShipwayError):
        forge.open_forge(kind, server.api(kind), "org/missing", TOKEN).list_open("main")
    with pytest.raises(ExternalError):
        forge.open_forge(kind, "http://127.0.0.1:9", name, TOKEN).list_open("main")


@pytest.mark.parametrize("kind", forge.KINDS)
def test_commit_statuses(kind: str, server: ForgeServer, project: tuple[str, Repo]) -> None:
    name, work = project
    sha = work.run("rev-parse", "HEAD").strip()
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    f.set_status(sha, "pending", "shipway/ci", "running", "http://127.0.0.1:1/runs/1")
    f.set_status(sha, "failure", "shipway/ci", "x" * 300)
    mine = [(st[2], st[3]) for st in server.state.statuses if st[:2] == (kind, name)]
    word = "failed" if kind == "gitlab" else "failure"
    assert [(s, b["state"]) for s, b in mine] == [(sha, "pending"), (sha, word)]
    assert all(len(b["description"]) <= 255 for _, b in mine)
    with pytest.raises(ShipwayError):  # a commit the repository does not have
        f.set_status("f" * 40, "success", "shipway/ci")


@pytest.mark.parametrize("kind", forge.KINDS)
def test_one_comment_api(kind: str, server: ForgeServer, project: tuple[str, Repo]) -> None:
    name, _ = project
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    pr = f.create("update-0", "main", "Update images", "body")
    first = f.create_comment(pr.number, "first")
    tagged = f.create_comment(pr.number, "deploying\n<!-- tag:web -->")
    assert first.body == "first" and first.id != tagged.id
    assert f.edit_comment(pr.number, first.id, "first, edited").body == "first, edited"
    f.update(pr.number, title="Update images (2)", body="new body")  # GitLab notes it itself
    listed = f.list_comments(pr.number)  # oldest first, people's comments only
    assert [(c.id, c.body) for c in listed] == [
        (first.id, "first, edited"), (tagged.id, "deploying\n<!-- tag:web -->")
    ]  # fmt: skip
    # put_comment: by id, else by the hidden marker, else a new comment
    assert f.put_comment(pr.number, "by id", comment_id=first.id).id == first.id
    by_marker = f.put_comment(pr.number, "ready\n<!-- tag:web -->", marker="<!-- tag:web -->")
    assert by_marker.id == tagged.id
    server.delete_comment(kind, name, pr.number, "ready")  # someone deletes it
    with pytest.raises(NotFoundError):
        f.edit_comment(pr.number, tagged.id, "gone")
    again = f.put_comment(pr.number, "ready again\n<!-- tag:web -->", comment_id=tagged.id,
                          marker="<!-- tag:web -->")  # fmt: skip
    assert again.id not in (first.id, tagged.id)
    assert [c.body for c in f.list_comments(pr.number)] == [
        "by id",
        "ready again\n<!-- tag:web -->",
    ]
    other = f.create("update-1", "main", "Other", "")
    if kind == "gitlab":  # a note is edited through its merge request: not another one's
        with pytest.raises(NotFoundError):
            f.edit_comment(other.number, first.id, "x")
    with pytest.raises(NotFoundError):
        f.create_comment(999999, "no such pull request")
    for i in range(110):  # more than one page where the forge pages comments
        f.create_comment(other.number, f"c{i}")
    assert [c.body for c in f.list_comments(other.number)] == [f"c{i}" for i in range(110)]


@pytest.mark.parametrize("kind", forge.KINDS)
def test_pulls_for_a_commit(kind: str, server: ForgeServer, project: tuple[str, Repo]) -> None:
    name, work = project
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    base = work.run("rev-parse", "HEAD").strip()
    work.run("commit", "-q", "--allow-empty", "-m", "feature")
    sha = work.run("rev-parse", "HEAD").strip()
    work.push("origin", "HEAD:refs/heads/update-2")
    pr = f.create("update-2", "main", "Feature", "")
    assert f.pulls_for_commit(sha) == [pr.number]
    assert f.pulls_for_commit(base) == []  # on the base branch already: in no pull request
    if kind != "gitlab":  # (GitLab's merge is not part of this suite)
        merged = f.merge(pr.number)
        assert f.pulls_for_commit(merged.merge_commit or sha) == [pr.number]


def test_helpers() -> None:
    assert forge.project_from_url("https://gitlab.com/g/sub/p.git") == "g/sub/p"
    assert forge.project_from_url("git@github.com:org/repo.git") == "org/repo"
    assert forge.default_api("github", "https://github.com/o/r") == "https://api.github.com"
    assert forge.default_api("gitea", "https://git.example/o/r") == "https://git.example/api/v1"
