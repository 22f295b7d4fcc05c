"""Pull request write-back: real registry and git daemon, the in-process forge server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from updater_helpers import application, push_image, seed_config_repo

from forge_server import TOKEN, ForgeServer
from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.updater import engine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def forge_server() -> Iterator[ForgeServer]:
    srv = ForgeServer()
    yield srv
    srv.stop()


def _setup(registry, git_server, forge_server, tmp_path, kind, grouping):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:6]
    project = f"org/cfg-{u}"
    url = git_server.bare(project)
    forge_server.add_repo(project, git_server.base / f"{project}.git")
    seed = seed_config_repo(url, tmp_path / "seed")
    s = "    shipway.dev/"
    extra = (
        f"{s}pull-request: {kind}\n{s}pull-request-api: {forge_server.api(kind)}\n"
        f"{s}pull-request-project: {project}\n{s}pull-request-grouping: {grouping}\n"
        f"{s}commit-author: Image Bot <bot@example.com>\n{s}commit-signoff: 'true'\n"
    )
    repo = f"pr/{u}"
    text = application("hello-dev", f"{registry.host}/{repo}", url, extra=extra)
    return project, url, seed, repo, parse_text(text, "app.yaml")


def _branch_file(url: str, branch: str, tmp: Path) -> str:
    clone = Repo.clone(url, tmp / uuid.uuid4().hex, branch=branch)
    return (clone.path / "overlays/dev/kustomization.yaml").read_text()


def test_one_pull_request_per_application_follows_the_base(  # type: ignore[no-untyped-def]
    registry, git_server, forge_server, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("SHIPWAY_FORGE_TOKEN", TOKEN)
    project, url, seed, repo, apps = _setup(
        registry, git_server, forge_server, tmp_path, "github", "application"
    )
    client = RegistryClient(registry.host)
    d1 = push_image(client, repo, "1.0", created="2026-01-01T00:00:00Z")
    work = tmp_path / "work"
    engine.engine_for(work, forges=None)
    [r] = engine.run_once(None, workdir=work, resources=apps)
    assert r.error is None, r
    assert r.branch == "shipway/image-update/hello-dev" and r.config_commit
    assert r.pull_request and r.pull_request["number"] == 1 and r.pull_request["base"] == "main"
    main_before = Repo.clone(url, tmp_path / "m0").head()
    assert main_before == seed.head()  # the base branch is never written
    assert f"digest: {d1}" in _branch_file(url, r.branch, tmp_path)
    commit_msg = Repo.clone(url, tmp_path / "b0", branch=r.branch).run(
        "log", "-1", "--format=%an|%B"
    )
    assert commit_msg.startswith("Image Bot|") and "Signed-off-by: Image Bot" in commit_msg

    [again] = engine.run_once(None, workdir=work, resources=apps)
    assert again.config_commit is None and again.pull_request == r.pull_request

    (seed.path / "README.md").write_text("moved\n")  # the base moves
    seed.add_all()
    new_base = seed.commit("unrelated change")
    seed.push("origin", "HEAD:refs/heads/main")
    [rebased] = engine.run_once(None, workdir=work, resources=apps)
    assert rebased.config_commit and rebased.config_commit != r.config_commit
    branch = Repo.clone(url, tmp_path / "b1", branch=r.branch)
    assert branch.head("HEAD^") == new_base

    d2 = push_image(client, repo, "2.0", created="2026-02-01T00:00:00Z")
    [newer] = engine.run_once(None, workdir=work, resources=apps)
    assert newer.pull_request and newer.pull_request["number"] == 1
    assert "2.0" in newer.pull_request["title"]
    assert f"digest: {d2}" in _branch_file(url, r.branch, tmp_path)
    assert len(forge_server.open_pulls("github", project)) == 1

    seed.run("fetch", "-q", "origin", r.branch)  # someone merges the pull request's content
    seed.run("merge", "-q", "--ff-only", "FETCH_HEAD")
    seed.push("origin", "HEAD:refs/heads/main")
    [merged] = engine.run_once(None, workdir=work, resources=apps)
    assert merged.pull_request is None and merged.closed_pull_requests == [1]
    assert forge_server.open_pulls("github", project) == []


@pytest.mark.parametrize("kind", ["gitlab", "gitea"])
def test_one_pull_request_per_update_closes_the_superseded(  # type: ignore[no-untyped-def]
    kind, registry, git_server, forge_server, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("SHIPWAY_FORGE_TOKEN", TOKEN)
    project, _, _, repo, apps = _setup(registry, git_server, forge_server, tmp_path, kind, "update")
    client = RegistryClient(registry.host)
    push_image(client, repo, "1.0", created="2026-01-01T00:00:00Z")
    work = tmp_path / "work"
    [first] = engine.run_once(None, workdir=work, resources=apps)
    assert first.branch == "shipway/image-update/hello-dev/app-1.0", first
    push_image(client, repo, "1.1", created="2026-01-02T00:00:00Z")
    [second] = engine.run_once(None, workdir=work, resources=apps)
    assert second.branch == "shipway/image-update/hello-dev/app-1.1"
    assert first.pull_request and second.pull_request
    assert second.closed_pull_requests == [first.pull_request["number"]]
    [open_pr] = forge_server.open_pulls(kind, project)
    assert open_pr.get("number", open_pr.get("iid")) == second.pull_request["number"]
    superseded = [c for c in forge_server.state.comments if c[1] == project]
    assert superseded and f"#{second.pull_request['number']}" in superseded[0][3]
