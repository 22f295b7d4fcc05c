"""``permissions:``: parse-time errors with file:line:column, and each job's token scopes."""

from __future__ import annotations

import pytest

from shipway.ci.plan import permissions as perms
from shipway.ci.syntax.github import parse_workflow
from shipway.model.errors import InputError


def _wf(workflow_perms: str = "", job_perms: str = "") -> str:
    return (
        "on: push\n"
        + (f"permissions:{workflow_perms}\n" if workflow_perms else "")
        + "jobs:\n  build:\n    runs-on: ubuntu-latest\n"
        + (f"    permissions:{job_perms}\n" if job_perms else "")
        + "    steps:\n      - run: 'true'\n"
    )


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (_wf("\n  contnts: read"), "ci.yml:3:3", "unknown permission scope 'contnts'"),
        (_wf("\n  contents: admin"), "ci.yml:3:3", "invalid level 'admin' for scope 'contents'"),
        (_wf(job_perms="\n      id-token: read"), "ci.yml:6:7", "for scope 'id-token'"),
        (_wf(job_perms="\n      models: write"), "ci.yml:6:7", "for scope 'models'"),
        (_wf(" read-everything"), "ci.yml:2:1", "invalid permissions 'read-everything'"),
        (_wf(job_perms=" [contents]"), "ci.yml:5:5", "'permissions' must be"),
    ],
)
def test_bad_permissions_are_refused_with_position(text: str, where: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_workflow(text, "ci.yml")
    assert str(err.value).startswith(where), str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize("spec", [" read-all", " write-all", " {}", "\n  contents: write"])
def test_good_permissions_parse(spec: str) -> None:
    wf = parse_workflow(_wf(spec, "\n      id-token: write\n      models: read"), "ci.yml")
    assert wf.jobs["build"].permissions == {"id-token": "write", "models": "read"}


def test_default_when_nothing_is_declared() -> None:
    permissive = perms.effective(None, None)
    assert permissive["contents"] == "write" and permissive["packages"] == "write"
    assert permissive["id-token"] == "none" and permissive["models"] == "read"
    restricted = perms.effective(None, None, "restricted")
    assert restricted["contents"] == "read" and restricted["issues"] == "none"


def test_job_replaces_workflow_and_unnamed_scopes_are_none() -> None:
    got = perms.effective({"contents": "write", "issues": "write"}, {"issues": "read"})
    assert got["issues"] == "read"
    assert got["contents"] == "none"  # the job's mapping replaces the workflow's whole
    assert perms.effective({"contents": "read"}, None)["contents"] == "read"
    assert set(perms.effective({}, None).values()) == {"none"}


def test_read_all_and_write_all_respect_each_scope_levels() -> None:
    read_all = perms.effective("read-all", None)
    assert read_all["contents"] == "read" and read_all["id-token"] == "none"
    write_all = perms.effective(None, "write-all")
    assert write_all["id-token"] == "write" and write_all["models"] == "read"


def test_called_workflow_can_only_keep_or_lower_the_callers_scopes() -> None:
    caller = perms.effective({"contents": "read", "packages": "write"}, None)
    inherited = perms.effective(None, None, "permissive", cap=caller)
    assert inherited == caller  # no spec: the caller's scopes, not the permissive default
    raised = perms.effective("write-all", None, cap=caller)
    assert raised["contents"] == "read" and raised["issues"] == "none"
    lowered = perms.effective({"packages": "read"}, None, cap=caller)
    assert lowered["packages"] == "read" and lowered["contents"] == "none"


def test_allows_and_log_lines() -> None:
    got = perms.effective({"contents": "read", "pull-requests": "write"}, None)
    assert perms.allows(got, "contents", "read") and not perms.allows(got, "contents", "write")
    assert perms.allows(got, "metadata", "read")
    assert perms.log_lines(got) == [
        "GITHUB_TOKEN Permissions: Contents: read, Metadata: read, PullRequests: write"
    ]
    assert perms.log_lines(got, verbose=True) == [
        "::group::GITHUB_TOKEN Permissions",
        "Contents: read",
        "Metadata: read",
        "PullRequests: write",
        "::endgroup::",
    ]
