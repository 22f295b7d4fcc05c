"""The Application ``status`` in Argo CD's shape, and the results that fill it. Pure.

``AppStatus`` is a comparison (render + diff + health); ``SyncResult`` is one
sync operation. ``application_status`` merges them with the stored status
into what ``shipway app get NAME -o json`` prints: ``sync``, ``health``,
``resources``, ``history``, ``operationState``, ``conditions``,
``reconciledAt``, ``sourceType``, ``summary``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from shipway.deploy.diff import OUT_OF_SYNC, ObjectDiff

SYNCED, UNKNOWN = "Synced", "Unknown"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_key(key: str) -> tuple[str, str, str, str]:
    group, kind, namespace, name = key.split("/", 3)
    return group, kind, namespace, name


@dataclass
class ResourceResult:
    """One task's result in a sync (Argo CD's ``syncResult.resources`` entry).

    As Argo CD fills it: ``hookType`` for hooks only; ``hookPhase`` for every
    task (``Running`` once applied, ``Succeeded``/``Failed`` once a hook
    completed or a waited-for resource became Healthy/Degraded). ``syncWave``
    is shipway's addition.
    """

    key: str
    version: str
    status: str  # Synced | SyncFailed | Pruned | PruneSkipped
    message: str = ""
    action: str = ""  # created | configured | unchanged | deleted | failed | dry-run
    sync_phase: str = "Sync"
    hook_phase: str = ""  # Running | Succeeded | Failed (Argo CD's, for resources too)
    hook_type: str = ""  # the hook's phase for a hook, empty for a resource
    sync_wave: int = 0

    @property
    def task_id(self) -> str:
        """The sync task this is the result of (a hook in two phases has two)."""
        return f"{self.sync_phase}:{self.key}"

    def to_dict(self) -> dict[str, Any]:
        group, kind, namespace, name = split_key(self.key)
        out: dict[str, Any] = {
            "group": group,
            "version": self.version,
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "status": self.status,
            "message": self.message,
            "syncPhase": self.sync_phase,
        }
        if self.hook_type:
            out["hookType"] = self.hook_type
        if self.hook_phase:
            out["hookPhase"] = self.hook_phase
        out["syncWave"] = self.sync_wave  # shipway's addition: the wave the task ran in
        return out


@dataclass
class SyncResult:
    """The outcome of ``engine.reconcile``: what the controller and the CLI report."""

    app: str
    phase: str  # Succeeded | Failed | Error
    revision: str
    message: str
    resources: list[ResourceResult] = field(default_factory=list)
    sync_status: str = UNKNOWN  # the app's sync status after the operation
    health: str = UNKNOWN  # the app's health right after the operation
    dry_run: bool = False
    history_id: int | None = None
    started_at: str = ""
    finished_at: str = ""
    pinned: bool = False  # the app is now pinned to ``revision`` (rollback under automation)
    retries: int = 0  # how many times ``syncPolicy.retry`` retried it
    policy: dict[str, Any] = field(default_factory=dict)  # the policy gates' summary

    @property
    def ok(self) -> bool:
        return self.phase == "Succeeded"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["resources"] = [r.to_dict() for r in self.resources]
        return out


@dataclass
class AppStatus:
    """A comparison of desired and live: the result of ``engine.refresh``."""

    app: str
    sync_status: str  # Synced | OutOfSync | Unknown
    revision: str
    health: str
    diffs: list[ObjectDiff] = field(default_factory=list)
    health_by_key: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    conditions: list[dict[str, str]] = field(default_factory=list)
    source_type: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    destination: dict[str, Any] = field(default_factory=dict)
    health_message: str = ""
    hooks: list[dict[str, Any]] = field(default_factory=list)  # hook manifests, not compared
    # the manifests as git renders them, before mutateDigest pins (``digest_pins``)
    written: list[dict[str, Any]] = field(default_factory=list)
    written_hooks: list[dict[str, Any]] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)  # image as written -> as compared

    @property
    def out_of_sync(self) -> list[ObjectDiff]:
        return [d for d in self.diffs if d.status == OUT_OF_SYNC]

    @property
    def error(self) -> str:
        errs = [c["message"] for c in self.conditions if c["type"].endswith("Error")]
        return "; ".join(errs)

    @property
    def errors(self) -> list[dict[str, str]]:
        """The conditions that stop a sync (``…Error`` types, not Argo CD's ``…Warning`` ones)."""
        return [c for c in self.conditions if not c["type"].endswith("Warning")]

    def resources(self) -> list[dict[str, Any]]:
        out = []
        for d in self.diffs:
            group, kind, namespace, name = split_key(d.key)
            obj = d.desired or d.live or {}
            version = str(obj.get("apiVersion", "")).rpartition("/")[2]
            entry: dict[str, Any] = {
                "group": group,
                "version": version,
                "kind": kind,
                "namespace": namespace,
                "name": name,
                "status": d.status,
            }
            h = self.health_by_key.get(d.key)
            if h is not None:
                entry["health"] = {"status": h[0], **({"message": h[1]} if h[1] else {})}
            if d.desired is None:
                entry["requiresPruning"] = True
            out.append(entry)
        return out

    def images(self) -> list[str]:
        found: set[str] = set()
        for d in self.diffs:
            _collect_images(d.live or d.desired or {}, found)
        return sorted(found)


def _collect_images(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "image" and isinstance(v, str):
                found.add(v)
            elif k != "status":
                _collect_images(v, found)
    elif isinstance(node, list):
        for v in node:
            _collect_images(v, found)


def comparison_status(old: dict[str, Any], st: AppStatus) -> dict[str, Any]:
    """The stored status updated with a fresh comparison (history and operation kept)."""
    out = dict(old)
    out["sync"] = {
        "status": st.sync_status,
        "revision": st.revision,
        "comparedTo": {"source": st.source, "destination": st.destination},
    }
    health: dict[str, Any] = {"status": st.health}
    if st.health_message:
        health["message"] = st.health_message
    out["health"] = health
    if st.diffs or not st.conditions:
        out["resources"] = st.resources()
        out["summary"] = {"images": st.images()}
    out["conditions"] = st.conditions
    out["reconciledAt"] = now()
    if st.source_type:
        out["sourceType"] = st.source_type
    return out


def operation_state(res: SyncResult, prune: bool, source: dict[str, Any]) -> dict[str, Any]:
    return {
        "operation": {"sync": {"revision": res.revision, "prune": prune, "dryRun": res.dry_run}},
        "phase": res.phase,
        "message": res.message,
        "startedAt": res.started_at,
        "finishedAt": res.finished_at,
        "syncResult": {
            "revision": res.revision,
            "source": source,
            "resources": [r.to_dict() for r in res.resources],
        },
    }


def add_history(
    old: list[dict[str, Any]], revision: str, started: str, source: dict[str, Any], limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Append a history entry (ids increase by one) and keep the newest ``limit``."""
    next_id = max((int(h.get("id", 0)) for h in old), default=-1) + 1
    entry = {
        "id": next_id,
        "revision": revision,
        "deployStartedAt": started,
        "deployedAt": now(),
        "source": source,
    }
    return [*old, entry][-limit:], next_id
