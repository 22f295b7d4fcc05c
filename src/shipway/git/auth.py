"""Credentials for one git repository, handed to the git processes that talk to it.

``RepoCreds`` is a username and password and the Secret they came from (its
name only, for messages). ``git_env`` is the one way shipway gives them to
git: an ``Authorization: Basic`` header in ``http.<url>.extraHeader``, set
through ``GIT_CONFIG_*`` variables of that git process, so nothing is written
into a repository's config, nothing appears in a URL or on a command line,
and the header goes to that repository's URL only (``insecure``: also
``http.<url>.sslVerify=false`` for that URL). Kargo's credentials
(``promote.credentials``) and Argo CD's (``deploy.repocreds``) both use it.
Pure: no I/O.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class RepoCreds:
    """The credentials one Secret holds for a repository (``secret``: its name)."""

    secret: str
    username: str
    password: str


def git_env(repo_url: str, creds: RepoCreds | None, *, insecure: bool = False) -> dict[str, str]:
    """Environment for a git process talking to ``repo_url`` with ``creds`` (HTTP(S) only:
    git:// and local paths take none)."""
    if not repo_url.startswith(("https://", "http://")):
        return {}
    pairs: list[tuple[str, str]] = []
    if creds is not None:
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        pairs.append((f"http.{repo_url}.extraHeader", f"Authorization: Basic {token}"))
    if insecure:
        pairs.append((f"http.{repo_url}.sslVerify", "false"))
    if not pairs:
        return {}
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
    return env
