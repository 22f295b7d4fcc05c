"""Git hook payloads and repository URL matching."""

from __future__ import annotations

import pytest

from shipway.controller.hooks import parse_git_push, same_repo
from shipway.model.errors import InputError


def test_parse_push_and_branch() -> None:
    push = parse_git_push(
        {
            "repo": "git://h/app.git",
            "updates": [
                {"ref": "refs/heads/main", "before": "0" * 40, "after": "a" * 40},
                {"ref": "refs/tags/v1", "before": "b" * 40, "after": "0" * 40},
            ],
        }
    )
    assert push.updates[0].branch == "main"
    assert not push.updates[0].deleted
    assert push.updates[1].branch is None
    assert push.updates[1].deleted


@pytest.mark.parametrize("body", [{}, {"repo": 1}, {"repo": "x", "updates": [{"ref": "r"}]}])
def test_bad_payloads_are_input_errors(body: object) -> None:
    with pytest.raises(InputError):
        parse_git_push(body)


def test_same_repo_ignores_dot_git_and_slash() -> None:
    assert same_repo("git://h:1/config.git", "git://h:1/config/")
    assert not same_repo("git://h:1/config.git", "git://h:1/other.git")
