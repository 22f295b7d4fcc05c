"""Plain-data ``Inputs`` for ApplicationSet unit tests, and a helper that builds a set."""

from __future__ import annotations

from typing import Any

import yaml

from shipway.deploy.appset.inputs import ClusterInfo, PullInfo, Tree
from shipway.model.resources import Resource, parse_text


class FakeInputs:
    def __init__(
        self,
        files: dict[str, str] | None = None,
        clusters: list[ClusterInfo] | None = None,
        pulls: list[PullInfo] | None = None,
    ) -> None:
        self.files = files or {}
        self._clusters = clusters or []
        self._pulls = pulls or []
        self.asked: list[tuple[str, str]] = []

    def tree(self, repo_url: str, revision: str) -> Tree:
        self.asked.append((repo_url, revision))
        dirs: set[str] = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            for n in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:n]))
        return Tree("c0ffee", sorted(dirs), sorted(self.files))

    def read(self, repo_url: str, commit: str, path: str) -> bytes:
        return self.files[path].encode()

    def clusters(self) -> list[ClusterInfo]:
        return list(self._clusters)

    def pulls(self, generator: dict[str, Any], namespace: str) -> list[PullInfo]:
        return list(self._pulls)


def appset(text: str) -> Resource:
    """An ApplicationSet from YAML, validated as ``shipway apply`` validates it."""
    (res,) = parse_text(text, "appset.yaml")
    return res


def spec_yaml(spec: dict[str, Any], name: str = "set") -> str:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
           "metadata": {"name": name}, "spec": spec}  # fmt: skip
    return yaml.safe_dump(doc)
