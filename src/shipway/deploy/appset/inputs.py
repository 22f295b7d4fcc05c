"""What ApplicationSet generators read, handed to them as data through one interface.

``Inputs`` is implemented by the engine (git mirrors, the store, forge
clients) and by tests (plain dicts). Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Tree:
    """One commit of a repository: its directories and files (repo-relative, no root)."""

    commit: str
    dirs: list[str]
    files: list[str]


@dataclass(frozen=True)
class ClusterInfo:
    """A deployment target as the cluster generator sees it (Argo CD's cluster secret)."""

    name: str
    server: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    project: str = ""


@dataclass(frozen=True)
class PullInfo:
    """An open pull (merge) request, as the pull-request generator reads it."""

    number: int
    title: str
    branch: str
    target_branch: str
    head_sha: str
    author: str = ""
    labels: tuple[str, ...] = ()
    url: str = ""


class Inputs(Protocol):
    def tree(self, repo_url: str, revision: str) -> Tree:
        """The directories and files of ``revision`` (``GitError`` when it cannot be read)."""
        ...

    def read(self, repo_url: str, commit: str, path: str) -> bytes:
        """One file of ``commit``."""
        ...

    def clusters(self) -> list[ClusterInfo]:
        """The stored Clusters plus the built-in local one."""
        ...

    def pulls(self, generator: dict[str, Any], namespace: str) -> list[PullInfo]:
        """The open pull requests of a ``pullRequest`` generator's provider block."""
        ...
