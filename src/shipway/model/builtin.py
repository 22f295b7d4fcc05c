"""Resources that exist without configuration: the local podman host, cluster ``local``.

An Application whose ``destination.name`` is ``local`` deploys onto this
machine's podman. A stored ``Cluster`` named ``local`` overrides this one.
"""

from __future__ import annotations

from shipway.model.resources import Resource

LOCAL_CLUSTER = "local"


def local_cluster() -> Resource:
    api_version = "shipway.dev/v1alpha1"
    body: dict[str, object] = {
        "apiVersion": api_version,
        "kind": "Cluster",
        "metadata": {"name": LOCAL_CLUSTER, "annotations": {"shipway.dev/builtin": "true"}},
        "spec": {"type": "podman"},
    }
    return Resource(
        api_version=api_version,
        kind="Cluster",
        name=LOCAL_CLUSTER,
        namespace="",
        body=body,
        source="(built in)",
    )


def with_builtins(kind: str, stored: list[Resource]) -> list[Resource]:
    """``stored`` plus the built-in resources of ``kind`` that nothing overrides."""
    if kind != "Cluster" or any(r.name == LOCAL_CLUSTER for r in stored):
        return stored
    return sorted([*stored, local_cluster()], key=lambda r: r.name)
