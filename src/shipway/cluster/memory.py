"""An in-process cluster: objects kept in a dict, for benchmarks and engine tests.

It stands for a target whose API latency is excluded (the watch-based live
cache of a real cluster answers the same way): ``live`` returns the stored
objects with a ``status`` that reads Healthy, and ``live_version`` changes
whenever an app's objects change, so an unchanged app need not be compared
again. Register it with ``shipway.cluster.register(name, MemoryTarget())``.
"""

from __future__ import annotations

import copy
from typing import Any

from shipway.cluster import Result
from shipway.cluster.changelog import ChangeLog

Obj = dict[str, Any]


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{group}/{obj.get('kind')}/{meta.get('namespace') or ''}/{meta.get('name')}"


def _ready(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    kind = out.get("kind")
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        n = int((out.get("spec") or {}).get("replicas", 1))
        out["status"] = {
            "replicas": n,
            "updatedReplicas": n,
            "readyReplicas": n,
            "availableReplicas": n,
        }
    elif kind == "Pod":
        out["status"] = {"phase": "Running", "containerStatuses": [{"ready": True}]}
    elif kind == "PersistentVolumeClaim":
        out["status"] = {"phase": "Bound"}
    return out


class MemoryTarget:
    """A cluster in a dict: ``objects[app][key]``."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.objects: dict[str, dict[str, Obj]] = {}
        self.versions: dict[str, int] = {}
        self.last_applied_by_app: dict[str, dict[str, Obj]] = {}
        self._changes = ChangeLog()

    def last_applied(self, app: str) -> dict[str, Obj]:
        """What was applied last per object (the third side of the comparison)."""
        return self.last_applied_by_app.get(app, {})

    def known_kinds(self) -> frozenset[str] | None:
        return None

    def live(self, app: str) -> dict[str, Obj]:
        return dict(self.objects.get(app, {}))

    def live_version(self, app: str) -> str:
        return str(self.versions.get(app, 0))

    def live_changes(self, token: int | None) -> tuple[int, set[str] | None]:
        """The apps whose objects changed since ``token`` (``ChangeLog.since``)."""
        return self._changes.since(token)

    def apply(
        self, app: str, objects: list[Obj], *, options: frozenset[str] = frozenset()
    ) -> list[Result]:
        mine = self.objects.setdefault(app, {})
        out = []
        for obj in objects:
            key = _key(obj)
            action = "configured" if key in mine else "created"
            mine[key] = _ready(obj)
            self.last_applied_by_app.setdefault(app, {})[key] = copy.deepcopy(obj)
            out.append(Result(key, "Synced", action, f"{obj['kind'].lower()} {action}"))
        self.versions[app] = self.versions.get(app, 0) + 1
        self._changes.note(app)
        return out

    def delete(self, app: str, objects: list[Obj]) -> list[Result]:
        mine = self.objects.setdefault(app, {})
        out = []
        for obj in objects:
            mine.pop(_key(obj), None)
            self.last_applied_by_app.get(app, {}).pop(_key(obj), None)
            out.append(Result(_key(obj), "Pruned", "deleted", "pruned"))
        self.versions[app] = self.versions.get(app, 0) + 1
        self._changes.note(app)
        return out
