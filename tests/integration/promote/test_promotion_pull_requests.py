"""PR steps through shipway's forge clients: the in-process forge server over the real git daemon.

git-push to a generated branch, git-open-pr, git-merge-pr and
git-wait-for-pr: the merge is a real merge commit on the bare repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from promote_helpers import freight, remote_refs
from promote_helpers import seed_config_repo as seed

from forge_server import TOKEN, ForgeServer
from shipway.git.forge import open_forge
from shipway.git.repo import Repo
from shipway.promote import runner
from shipway.settings import Settings
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def forge_server() -> Iterator[ForgeServer]:
    srv = ForgeServer()
    yield srv
    srv.stop()


@pytest.fixture
def env(shipway_home: Path) -> Iterator[tuple[Settings, Store]]:
    settings = Settings()
    store = open_store(settings)
    yield settings, store
    store.close()


def _steps(url: str) -> list[dict[str, Any]]:
    return [
        {"uses": "git-clone", "config": {"repoURL": url,
                                         "checkout": [{"branch": "main", "path": "./src"}]}},
        {"uses": "yaml-update", "as": "edit", "config": {
            "path": "./src/base/kustomization.yaml",
            "updates": [{"key": "namePrefix", "value": "test-"}]}},
        {"uses": "git-commit", "as": "commit", "config": {
            "path": "./src", "message": "${{ outputs.edit.commitMessage }}",
            "author": {"name": "Promoter", "email": "promoter@example.com"}}},
        {"uses": "git-push", "as": "push", "config": {"path": "./src",
                                                      "generateTargetBranch": True}},
        {"uses": "git-open-pr", "as": "open-pr", "config": {
            "repoURL": url, "provider": "github", "sourceBranch": "${{ outputs.push.branch }}",
            "targetBranch": "main"}},
        {"uses": "git-merge-pr", "as": "merge", "config": {
            "repoURL": url, "provider": "github", "prNumber": "${{ outputs['open-pr'].pr.id }}"}},
        {"uses": "git-wait-for-pr", "as": "wait", "config": {
            "repoURL": url, "provider": "github", "prNumber": "${{ outputs['open-pr'].pr.id }}"}},
    ]  # fmt: skip


def test_push_open_merge_wait(env, git_server, forge_server, tmp_path: Path) -> None:
    settings, store = env
    project = f"org/cfg-{uuid.uuid4().hex[:6]}"
    url = git_server.bare(project)
    forge_server.add_repo(project, git_server.base / f"{project}.git")
    seed_sha = seed(url, tmp_path / "seed")
    # namePrefix must exist for yaml-update (it sets existing keys)
    work = Repo(tmp_path / "seed")
    (work.path / "base/kustomization.yaml").write_text(
        "namePrefix: ''\nresources: [deployment.yaml]\n"
    )
    work.add_all()
    seed_sha = work.commit("prefix")
    work.push("origin", "HEAD:refs/heads/main")

    def forge(repo_url: str, provider: str | None) -> Any:
        assert (repo_url, provider) == (url, "github")
        return open_forge("github", forge_server.api("github"), project, TOKEN)

    key = runner.create(store, project="demo", name="test.01pr.f00dfee", stage="test",
                        freight=freight(), steps=_steps(url))  # fmt: skip
    status = runner.run(store, settings, key, forge=forge, poll=0.01)

    assert status["phase"] == "Succeeded", status.get("message")
    out = status["state"]
    assert out["push"]["branch"] == "kargo/promotion/test.01pr.f00dfee"
    assert out["open-pr"]["pr"]["id"] == 1 == out["open-pr"]["prNumber"]
    main = remote_refs(url)["refs/heads/main"]
    assert out["merge"]["commit"] == main == out["wait"]["commit"]
    parents = Repo(git_server.base / f"{project}.git").run("rev-list", "--parents", "-1", main)
    assert parents.split()[1:] == [seed_sha, out["commit"]["commit"]]
    author = Repo(git_server.base / f"{project}.git").run(
        "log", "-1", "--format=%an <%ae>", out["commit"]["commit"]
    )
    assert author.strip() == "Promoter <promoter@example.com>"

    # the forge recorded the merge the way GitHub reports it
    (pr,) = forge_server.state.pulls[("github", project)]
    assert pr["state"] == "closed" and pr["merge_commit_sha"] == main
