"""Targets: the only modules that talk to a Kubernetes API or a podman host.

A target exposes one small interface (``Target``) that the reconciler uses:
``live(app)`` lists the objects it manages for an application (each with a
``status`` the health checks read), ``apply(app, objects)`` and
``delete(app, objects)`` change them and report one ``Result`` per object.
Everything shipway creates carries the label ``app.kubernetes.io/instance``
(the application's name, as Argo CD tracks by default) and the annotation
``shipway.dev/tracking-id`` (``app:group/Kind:namespace/name``), so prune and
``--clean`` find exactly what shipway made. External failures become
``ClusterError``. Optional, read by the reconciler when a target has them:
``last_applied(app)`` (what it recorded applying per key, for a target whose
objects cannot carry it: podman, see ``last_applied``) and
``cluster_scoped(group, kind)`` (scope from discovery: Kubernetes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shipway.model.errors import InputError
from shipway.settings import Settings

INSTANCE_LABEL = "app.kubernetes.io/instance"
TRACKING_ANNOTATION = "shipway.dev/tracking-id"
LOCAL = "local"


@dataclass
class Result:
    """What happened to one object: ``status`` is Argo CD's result status."""

    key: str
    status: str  # Synced | SyncFailed | Pruned | PruneSkipped
    action: str  # created | configured | unchanged | deleted | failed
    message: str = ""


class Target(Protocol):
    name: str

    def known_kinds(self) -> frozenset[str] | None:
        """Kinds this target can run (None: ask nothing, accept all)."""
        ...

    def live(self, app: str) -> dict[str, dict[str, Any]]:
        """The live objects tracked for ``app``, by ``group/Kind/namespace/name``."""
        ...

    def apply(
        self, app: str, objects: list[dict[str, Any]], *, options: frozenset[str] = frozenset()
    ) -> list[Result]:
        """Create or update ``objects`` in order; ``options`` are sync options."""
        ...

    def delete(self, app: str, objects: list[dict[str, Any]]) -> list[Result]: ...


_registered: dict[str, Target] = {}
_kube: dict[str, Target] = {}


def register(name: str, target: Target | None) -> None:
    """Serve destination ``name`` with an in-process ``target`` (None removes it).

    For embedding and benchmarks: e.g. an in-memory cluster that excludes API latency.
    """
    if target is None:
        _registered.pop(name, None)
    else:
        _registered[name] = target


def connect(
    settings: Settings,
    destination: Mapping[str, Any],
    clusters: Mapping[str, Mapping[str, Any]] | None = None,
    podman_env: Callable[[], dict[str, str]] | None = None,
) -> Target:
    """The target for an Application's ``destination``.

    ``name: local`` (or ``server: podman://local``) is the built-in podman host;
    ``podman_env`` makes the environment podman runs with (``CONTAINERS_CONF`` ...);
    a target registered under the destination's name (``register``) wins;
    other names are ``Cluster`` resources (``clusters`` maps name → spec); a stored
    ``Cluster`` named ``local`` overrides the built-in one.
    """
    name = str(destination.get("name") or "")
    server = str(destination.get("server") or "")
    if name in _registered:
        return _registered[name]
    env = podman_env() if podman_env is not None else {}
    spec = (clusters or {}).get(name) if name else None
    if spec is None and (name == LOCAL or server in ("podman://local", "local")):
        from shipway.cluster import podman

        return podman.PodmanTarget(settings, env)
    if spec is None and server:
        spec = next((c for c in (clusters or {}).values() if c.get("server") == server), None)
    if spec is None:
        raise InputError(
            f"cluster {name or server!r} is not known (define a Cluster resource, or use "
            "destination.name: local for this podman host)",
            subject=f"Cluster/{name or server}",
        )
    if spec.get("type") == "podman":
        from shipway.cluster import podman

        return podman.PodmanTarget(settings, env, url=spec.get("podmanURL"))
    from shipway.cluster.kubernetes import KubernetesTarget

    key = repr(sorted(spec.items()))
    if key not in _kube:  # one client, discovery and watch cache per cluster per process
        cache = settings.home / "cache" / "kube"
        cache.mkdir(parents=True, exist_ok=True)
        _kube[key] = KubernetesTarget(spec, cache_dir=cache)
    return _kube[key]


def close_all() -> None:
    """Stop the watches of every Kubernetes target this process opened."""
    while _kube:
        _, target = _kube.popitem()
        close = getattr(target, "close", None)
        if close is not None:
            close()
