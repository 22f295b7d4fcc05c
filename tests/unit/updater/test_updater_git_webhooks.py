"""Forge webhooks (push and pull request) from GitHub, GitLab and Gitea, with their checks."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from shipway.git import webhooks
from shipway.git.webhooks import WebhookAuthError
from shipway.model.errors import InputError

A, B = "a" * 40, "b" * 40


def _sig(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_github_push_and_pull_request() -> None:
    push = json.dumps({
        "ref": "refs/heads/main", "before": A, "after": B,
        "commits": [{"id": B}], "sender": {"login": "dev"},
        "repository": {"clone_url": "https://github.com/o/r.git",
                       "ssh_url": "git@github.com:o/r.git"},
    }).encode()  # fmt: skip
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + _sig("k", push)}
    ev = webhooks.parse(headers, push, secret="k")
    assert (ev.forge, ev.kind, ev.branch, ev.before, ev.after, ev.commits, ev.sender) == (
        "github", "push", "main", A, B, (B,), "dev"
    )  # fmt: skip
    assert ev.repo_urls == ("https://github.com/o/r.git", "git@github.com:o/r.git")
    with pytest.raises(WebhookAuthError):
        webhooks.parse({**headers, "X-Hub-Signature-256": "sha256=00"}, push, secret="k")
    pr = json.dumps({
        "action": "closed", "number": 7,
        "pull_request": {"number": 7, "merged": True, "head": {"ref": "feat", "sha": B},
                         "base": {"ref": "main"}},
        "repository": {"clone_url": "https://github.com/o/r.git"},
    }).encode()  # fmt: skip
    ev = webhooks.parse({"X-GitHub-Event": "pull_request"}, pr)
    assert (ev.kind, ev.number, ev.action, ev.head_ref, ev.head_sha, ev.base_ref) == (
        "pull_request", 7, "merged", "feat", B, "main"
    )  # fmt: skip
    assert not ev.fork
    forked = json.loads(pr)
    forked["pull_request"]["head"]["repo"] = {"full_name": "stranger/r", "fork": True}
    forked["pull_request"]["base"]["repo"] = {"full_name": "o/r"}
    ev = webhooks.parse({"X-GitHub-Event": "pull_request"}, json.dumps(forked).encode())
    assert ev.fork  # its runs get no secrets
    forked["pull_request"]["head"]["repo"] = {"full_name": "o/r"}
    assert not webhooks.parse({"X-GitHub-Event": "pull_request"}, json.dumps(forked).encode()).fork


def test_gitlab_push_and_merge_request() -> None:
    push = json.dumps({
        "object_kind": "push", "ref": "refs/heads/dev", "before": A, "after": B,
        "user_username": "dev", "project": {"git_http_url": "https://gitlab.com/g/p.git"},
        "commits": [{"id": B}],
    }).encode()  # fmt: skip
    ev = webhooks.parse({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "t"}, push, secret="t")
    assert (ev.forge, ev.kind, ev.branch, ev.after, ev.repo_urls) == (
        "gitlab", "push", "dev", B, ("https://gitlab.com/g/p.git",)
    )  # fmt: skip
    with pytest.raises(WebhookAuthError):
        webhooks.parse({"X-Gitlab-Event": "Push Hook"}, push, secret="t")
    mr = json.dumps({
        "object_kind": "merge_request", "project": {"git_http_url": "https://gitlab.com/g/p.git"},
        "object_attributes": {"iid": 3, "action": "update", "source_branch": "f",
                              "target_branch": "main", "last_commit": {"id": B}},
    }).encode()  # fmt: skip
    ev = webhooks.parse({"X-Gitlab-Event": "Merge Request Hook"}, mr)
    assert (ev.kind, ev.number, ev.action, ev.head_ref, ev.head_sha) == (
        "pull_request", 3, "synchronize", "f", B
    )  # fmt: skip


def test_gitea_push_with_signature() -> None:
    push = json.dumps({"ref": "refs/heads/main", "before": ("0" * 40), "after": B,
                       "repository": {"clone_url": "http://gitea/o/r.git"}}).encode()  # fmt: skip
    headers = {"X-Gitea-Event": "push", "X-Gitea-Signature": _sig("s", push)}
    ev = webhooks.parse(headers, push, secret="s")
    assert (ev.forge, ev.kind, ev.after, ev.deleted) == ("gitea", "push", B, False)
    with pytest.raises(WebhookAuthError):
        webhooks.parse({**headers, "X-Gitea-Signature": "00"}, push, secret="s")


def test_other_events_and_bad_input() -> None:
    ev = webhooks.parse({"X-GitHub-Event": "ping"}, b'{"zen": "x"}')
    assert ev.kind == "ping"
    with pytest.raises(InputError):
        webhooks.parse({}, b"{}")
    with pytest.raises(InputError):
        webhooks.parse({"X-GitHub-Event": "push"}, b"[1]")
