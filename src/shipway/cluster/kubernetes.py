"""The Kubernetes target (server-side apply through the official client).

Not built yet: ``connect`` refuses a Kubernetes destination with a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipway.cluster import Result
from shipway.model.errors import ClusterError


class KubernetesTarget:
    """A Kubernetes API server as a deployment target."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.name = str(spec.get("server") or spec.get("context") or "kubernetes")
        raise ClusterError("the Kubernetes target is not available yet", subject=self.name)

    def known_kinds(self) -> frozenset[str] | None:
        return None

    def live(self, app: str) -> dict[str, dict[str, Any]]:
        return {}

    def apply(
        self, app: str, objects: list[dict[str, Any]], *, options: frozenset[str] = frozenset()
    ) -> list[Result]:
        return []

    def delete(self, app: str, objects: list[dict[str, Any]]) -> list[Result]:
        return []
