"""Remote references: ``uses:`` parsing, clone URLs, ls-remote parsing, ref resolution, auth."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.plan.refs import (
    Listing,
    RefError,
    RemoteUses,
    auth_env,
    clone_urls,
    is_sha,
    parse_ls_remote,
    parse_uses,
    resolve_ref,
    short_name,
)

SHA = "a" * 40


def test_parse_uses_parts() -> None:
    assert parse_uses("acme/tools@v1") == RemoteUses("acme", "tools", "", "v1")
    ref = parse_uses("acme/tools/sub/dir@feature/x")
    assert ref == RemoteUses("acme", "tools", "sub/dir", "feature/x")
    assert ref.repo == "acme/tools"
    assert ref.cache_entry == "acme/tools@feature/x"


@pytest.mark.parametrize(
    "bad", ["acme@v1", "acme/tools", "acme/tools@", "a//b@v1", "a/b@-x", "a/../b@v1", "a/b@x..y"]
)
def test_parse_uses_rejects(bad: str) -> None:
    with pytest.raises(RefError):
        parse_uses(bad)


def test_clone_urls_with_and_without_git_suffix() -> None:
    assert clone_urls("git://h:9418/", "o/n") == ["git://h:9418/o/n", "git://h:9418/o/n.git"]
    assert clone_urls("https://forge.example/git", "o/n") == [
        "https://forge.example/git/o/n",
        "https://forge.example/git/o/n.git",
    ]
    assert clone_urls("", "o/n") == []


def test_auth_env_only_for_http() -> None:
    assert auth_env("git://h/o/n", "tok") == {}
    assert auth_env("https://h/o/n", "") == {}
    env = auth_env("https://h/o/n", "tok")
    assert env["GIT_CONFIG_KEY_0"] == "http.extraheader"
    encoded = env["GIT_CONFIG_VALUE_0"].removeprefix("AUTHORIZATION: basic ")
    assert base64.b64decode(encoded).decode() == "x-access-token:tok"


LS = f"""ref: refs/heads/main\tHEAD
{"1" * 40}\tHEAD
{"1" * 40}\trefs/heads/main
{"2" * 40}\trefs/heads/v1
{"3" * 40}\trefs/tags/v1
{"4" * 40}\trefs/tags/v1^{{}}
{"5" * 40}\trefs/tags/light
"""


def test_parse_ls_remote_peels_annotated_tags() -> None:
    listing = parse_ls_remote(LS)
    assert listing.head == "refs/heads/main"
    assert listing.refs["refs/tags/v1"] == "4" * 40
    assert listing.refs["refs/tags/light"] == "5" * 40


def test_resolve_ref_tag_before_branch_default_and_sha() -> None:
    listing = parse_ls_remote(LS)
    tag = resolve_ref(listing, "v1", "o/n")
    assert (tag.kind, tag.full, tag.sha) == ("tag", "refs/tags/v1", "4" * 40)
    branch = resolve_ref(listing, "main", "o/n")
    assert (branch.kind, branch.full) == ("branch", "refs/heads/main")
    default = resolve_ref(listing, "", "o/n")
    assert default.full == "refs/heads/main" and default.sha == "1" * 40
    full = resolve_ref(listing, "refs/heads/v1", "o/n")
    assert (full.kind, full.sha) == ("branch", "2" * 40)
    pinned = resolve_ref(listing, SHA, "o/n")
    assert (pinned.kind, pinned.sha) == ("sha", SHA)


def test_resolve_ref_errors_name_repo_and_ref() -> None:
    with pytest.raises(RefError, match=r"^ref 'nope' not found in repository o/n$"):
        resolve_ref(parse_ls_remote(LS), "nope", "o/n")
    with pytest.raises(RefError, match=r"^repository o/n has no default branch$"):
        resolve_ref(Listing({}, ""), "", "o/n")


def test_is_sha_and_short_name() -> None:
    assert is_sha(SHA) and is_sha("b" * 64)
    assert not is_sha("a" * 39) and not is_sha("v1")
    assert short_name("refs/heads/feature/x") == "feature/x"
    assert short_name("refs/tags/v1") == "v1"


def test_git_source_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from shipway.ci.remote import git_source
    from shipway.ci.runinfo import RunInfo

    def info(**kw: Any) -> RunInfo:
        return RunInfo("r", "/src", "c", "refs/heads/main", "push", {}, tmp_path, **kw)

    monkeypatch.setenv("SHIPWAY_GIT_URL", "git://process/")
    assert git_source(info()) == "git://process"
    assert (
        git_source(info(env={"SHIPWAY_GIT_URL": "http://pipeline/git/"})) == "http://pipeline/git"
    )
    assert git_source(info(git_url="git://flag", env={"SHIPWAY_GIT_URL": "x"})) == "git://flag"
    monkeypatch.delenv("SHIPWAY_GIT_URL")
    assert git_source(info()) == ""


def test_pipeline_kind_takes_a_git_url() -> None:
    from shipway.model.resources import parse_text

    text = """\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {name: app}
spec:
  source: {repoURL: "git://127.0.0.1:9418/acme/app"}
  gitURL: "git://127.0.0.1:9418"
"""
    (pipe,) = parse_text(text, "p.yaml")
    assert pipe.spec["gitURL"] == "git://127.0.0.1:9418"
