"""Sync planning: which objects to apply and prune, in which order. Pure.

Order is data, as in Argo CD: objects are grouped by phase (``PreSync``,
``Sync``, ``PostSync`` hooks), then by ``argocd.argoproj.io/sync-wave``
(integer, default 0), then by kind (Namespaces and config before workloads,
then Services, Ingresses ...), then by name. Objects to prune go in their
own wave after its applies (reverse order), or last with ``PruneLast``; an
object annotated ``argocd.argoproj.io/sync-options: Prune=false`` is never
pruned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shipway.deploy.diff import OUT_OF_SYNC, ObjectDiff

WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
HOOK_ANNOTATION = "argocd.argoproj.io/hook"
SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"

KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
]
_RANK = {k: i for i, k in enumerate(KIND_ORDER)}


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    return {str(k): str(v) for k, v in ann.items()}


def wave_of(obj: dict[str, Any]) -> int:
    raw = annotations_of(obj).get(WAVE_ANNOTATION, "0")
    try:
        return int(raw)
    except ValueError:
        return 0


def hook_of(obj: dict[str, Any]) -> str | None:
    """The hook phase of a hook object (``PreSync``, ``Sync``, ``PostSync``, ``SyncFail``)."""
    raw = annotations_of(obj).get(HOOK_ANNOTATION)
    return raw.split(",")[0].strip() if raw else None


def sync_options(obj: dict[str, Any]) -> set[str]:
    """The object's own ``argocd.argoproj.io/sync-options`` (``Prune=false`` …)."""
    raw = annotations_of(obj).get(SYNC_OPTIONS_ANNOTATION, "")
    return {o.strip().replace(" ", "") for o in raw.split(",") if o.strip()}


def sort_key(obj: dict[str, Any]) -> tuple[int, int, str]:
    kind = str(obj.get("kind"))
    return wave_of(obj), _RANK.get(kind, len(KIND_ORDER)), str(obj["metadata"]["name"])


@dataclass
class Plan:
    """Waves of objects to apply (each wave in order) and objects to prune."""

    waves: list[tuple[int, list[dict[str, Any]]]]
    prune: list[dict[str, Any]]
    skipped_prune: list[dict[str, Any]]

    def steps(
        self, prune_last: bool = False
    ) -> list[tuple[int | None, list[dict[str, Any]], list[dict[str, Any]]]]:
        """``(wave, apply, prune)`` in order: objects are pruned in their own wave, after
        that wave's applies, as Argo CD does; with ``PruneLast`` (the app's option or the
        object's) in a last step (wave ``None``)."""
        applies = dict(self.waves)
        pruned: dict[int, list[dict[str, Any]]] = {}
        last: list[dict[str, Any]] = []
        for obj in self.prune:
            if prune_last or "PruneLast=true" in sync_options(obj):
                last.append(obj)
            else:
                pruned.setdefault(wave_of(obj), []).append(obj)
        out: list[tuple[int | None, list[dict[str, Any]], list[dict[str, Any]]]] = [
            (w, applies.get(w, []), pruned.get(w, [])) for w in sorted({*applies, *pruned})
        ]
        if last:
            out.append((None, [], last))
        return out


def plan(
    diffs: Sequence[ObjectDiff],
    *,
    prune: bool,
    apply_out_of_sync_only: bool = False,
) -> Plan:
    """Build the apply waves and the prune list from the comparison."""
    to_apply = [
        d.desired
        for d in diffs
        if d.desired is not None
        and hook_of(d.desired) is None
        and (not apply_out_of_sync_only or d.status == OUT_OF_SYNC)
    ]
    to_apply.sort(key=sort_key)
    waves: dict[int, list[dict[str, Any]]] = {}
    for obj in to_apply:
        waves.setdefault(wave_of(obj), []).append(obj)
    extra = [d.live for d in diffs if d.desired is None and d.live is not None]
    extra.sort(key=sort_key, reverse=True)
    keep = [o for o in extra if "Prune=false" in sync_options(o)]
    gone = [o for o in extra if "Prune=false" not in sync_options(o)]
    return Plan(
        waves=sorted(waves.items()),
        prune=gone if prune else [],
        skipped_prune=keep + ([] if prune else gone),
    )


def hooks(objs: Iterable[dict[str, Any]], phase: str) -> list[dict[str, Any]]:
    return sorted((o for o in objs if hook_of(o) == phase), key=sort_key)
