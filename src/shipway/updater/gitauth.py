"""Credentials for config repositories reached over HTTPS.

A target's credentials come from environment variables, never from files:
``shipway.dev/git-credentials-env: PREFIX`` reads ``PREFIX_USERNAME`` and
``PREFIX_PASSWORD``; a pull-request target without it uses its forge token
(``x-access-token`` for GitHub, ``oauth2`` for GitLab, the token for Gitea).
They reach git as an ``http.extraHeader`` through ``GIT_CONFIG_*`` variables
of the git process only, so nothing is written into the checkout's config.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

from shipway.git.repo import Repo, git
from shipway.updater.targets import GitTarget

_FORGE_USER = {"github": "x-access-token", "gitlab": "oauth2", "gitea": "shipway"}


def credentials(target: GitTarget) -> tuple[str, str]:
    """(username, password) for the target's repository; empty when none are configured."""
    if target.credentials_env:
        prefix = target.credentials_env
        return os.environ.get(f"{prefix}_USERNAME", "git"), os.environ.get(f"{prefix}_PASSWORD", "")
    if target.pr is not None:
        return _FORGE_USER.get(target.pr.forge, "git"), os.environ.get(target.pr.token_env, "")
    return "", ""


def git_env(target: GitTarget) -> dict[str, str]:
    """Environment for git processes talking to the target's remote."""
    user, password = credentials(target)
    if not password or not target.repo_url.startswith(("https://", "http://")):
        return {}
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
    }


@dataclass
class AuthRepo(Repo):
    """A ``Repo`` whose git processes carry the target's credentials."""

    extra_env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
        return super().run(*args, input=input, env={**self.extra_env, **(env or {})})


def clone(target: GitTarget, path: Path) -> AuthRepo:
    env = git_env(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["clone", "-q", "--branch", target.branch, target.repo_url, str(path)]
    git(args, subject=target.repo_url, env=env)
    return AuthRepo(path, env)


def open_repo(target: GitTarget, path: Path) -> AuthRepo:
    return AuthRepo(path, git_env(target))
