"""The fake API server's object store: resource versions, generations, events, selectors."""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import uuid
from typing import Any

from fake_kube.resources import Kind

Obj = dict[str, Any]
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> Obj:
        out: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            out["details"] = self.details
        return out


def not_found(kind: Kind, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{kind.plural} "{name}" not found', name=name, kind=kind.plural
    )


def parse_selector(text: str) -> list[tuple[str, str, list[str]]]:
    """``a=b,c!=d,e in (f,g),h notin (i),j,!k`` → ``[(key, op, values)]``."""
    out = []
    for part in re.findall(r"[^,(]+(?:\([^)]*\))?", text or ""):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^(\S+)\s+(in|notin)\s+\(([^)]*)\)$", part)
        if m:
            out.append((m[1], m[2], [v.strip() for v in m[3].split(",") if v.strip()]))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            out.append((k.strip(), "!=", [v.strip()]))
        elif "=" in part:
            k, v = part.replace("==", "=").split("=", 1)
            out.append((k.strip(), "=", [v.strip()]))
        elif part.startswith("!"):
            out.append((part[1:], "!", []))
        else:
            out.append((part, "exists", []))
    return out


def matches(labels: dict[str, str], selector: list[tuple[str, str, list[str]]]) -> bool:
    for key, op, values in selector:
        have = labels.get(key)
        ok = {
            "=": have == values[0] if values else False,
            "!=": have != values[0] if values else True,
            "in": have in values,
            "notin": have not in values,
            "exists": have is not None,
            "!": have is None,
        }[op]
        if not ok:
            return False
    return True


class Store:
    """Objects by ``(kind, namespace, name)`` with a global resource version and event log."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.rv = 0
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.events: list[tuple[int, str, str, Obj]] = []  # rv, kind, type, object
        self.real_pods = False  # a kubelet runs Pods: no stand-in Pod status
        with self.lock:
            for ns in ("default", "kube-system"):
                self._write_new(
                    "Namespace",
                    "",
                    ns,
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                )

    def _stamp(self, obj: Obj) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def _event(self, kind: str, etype: str, obj: Obj) -> None:
        self.events.append((self.rv, kind, etype, copy.deepcopy(obj)))
        self.lock.notify_all()

    def _write_new(self, kind: str, ns: str, name: str, obj: Obj) -> Obj:
        meta = obj.setdefault("metadata", {})
        meta.update(
            uid=str(uuid.uuid4()),
            generation=1,
            creationTimestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self._stamp(obj)
        self.objects[(kind, ns, name)] = obj
        self._event(kind, "ADDED", obj)
        return obj

    def get(self, kind: Kind, ns: str, name: str) -> Obj:
        obj = self.objects.get((kind.kind, ns, name))
        if obj is None:
            raise not_found(kind, name)
        return copy.deepcopy(obj)

    def find(self, kind: Kind, ns: str, name: str) -> Obj | None:
        obj = self.objects.get((kind.kind, ns, name))
        return copy.deepcopy(obj) if obj else None

    def list(self, kind: Kind, ns: str | None, selector: str) -> tuple[list[Obj], str]:
        sel = parse_selector(selector)
        items = [
            copy.deepcopy(o)
            for (k, n, _), o in sorted(self.objects.items())
            if k == kind.kind
            and (ns is None or n == ns)
            and matches((o["metadata"].get("labels") or {}), sel)
        ]
        return items, str(self.rv)

    def validate(self, kind: Kind, ns: str, obj: Obj) -> str:
        name = (obj.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(
                422,
                "Invalid",
                f"{kind.kind} is invalid: metadata.name: Required value",
                kind=kind.kind,
            )
        if not _NAME.match(name) or len(name) > 253:
            raise ApiError(
                422,
                "Invalid",
                f'{kind.kind} "{name}" is invalid: metadata.name: '
                "Invalid value: a lowercase RFC 1123 subdomain must consist of lower "
                "case alphanumeric characters, '-' or '.'",
                name=name,
                kind=kind.kind,
            )
        if obj.get("kind") not in (None, kind.kind):
            raise ApiError(400, "BadRequest", f"kind {obj.get('kind')} does not match {kind.kind}")
        if kind.namespaced and ("Namespace", "", ns) not in self.objects:
            raise ApiError(
                404, "NotFound", f'namespaces "{ns}" not found', name=ns, kind="namespaces"
            )
        return name

    def create(self, kind: Kind, ns: str, obj: Obj) -> Obj:
        name = self.validate(kind, ns, obj)
        if (kind.kind, ns, name) in self.objects:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{kind.plural} "{name}" already exists',
                name=name,
                kind=kind.plural,
            )
        obj = copy.deepcopy(obj)
        obj["apiVersion"], obj["kind"] = kind.group_version, kind.kind
        if kind.namespaced:
            obj["metadata"]["namespace"] = ns
        for k in ("resourceVersion", "uid", "creationTimestamp", "generation"):
            obj["metadata"].pop(k, None)
        if self.real_pods and kind.kind == "Pod":
            obj["status"] = {"phase": "Pending"}
        else:
            simulate(obj)
        self._node_ports(obj, None)
        return copy.deepcopy(self._write_new(kind.kind, ns, name, obj))

    def _node_ports(self, obj: Obj, cur: Obj | None) -> None:
        """A NodePort/LoadBalancer Service port without a ``nodePort`` gets one, as the API
        server allocates it (30000-32767, never one another Service holds); an update keeps
        the one it had."""
        spec = obj.get("spec") or {}
        if obj.get("kind") != "Service" or spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        had = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
               for p in ((cur or {}).get("spec") or {}).get("ports") or []}  # fmt: skip
        used = {p.get("nodePort") for (k, _, _), o in self.objects.items() if k == "Service"
                for p in (o.get("spec") or {}).get("ports") or []}  # fmt: skip
        for entry in spec.get("ports") or []:
            if entry.get("nodePort"):
                continue
            port = had.get((entry.get("port"), entry.get("protocol", "TCP")))
            if not port:
                port = next(n for n in range(30000, 32768) if n not in used)
            used.add(port)
            entry["nodePort"] = port

    def replace(self, kind: Kind, ns: str, name: str, obj: Obj, *, check_rv: bool = True) -> Obj:
        cur = self.objects.get((kind.kind, ns, name))
        if cur is None:
            raise not_found(kind, name)
        want_rv = (obj.get("metadata") or {}).get("resourceVersion")
        if check_rv and want_rv and want_rv != cur["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f"Operation cannot be fulfilled on {kind.plural} "
                f'"{name}": the object has been modified; please apply your changes '
                "to the latest version and try again",
                name=name,
                kind=kind.plural,
            )
        obj = copy.deepcopy(obj)
        obj["apiVersion"], obj["kind"] = kind.group_version, kind.kind
        meta = obj.setdefault("metadata", {})
        for k in ("uid", "creationTimestamp"):
            meta[k] = cur["metadata"][k]
        if kind.namespaced:
            meta["namespace"] = ns
        meta["name"] = name
        if "status" not in obj and "status" in cur:
            obj["status"] = cur["status"]
        self._node_ports(obj, cur)
        spec_changed = {k: v for k, v in obj.items() if k not in ("metadata", "status")} != {
            k: v for k, v in cur.items() if k not in ("metadata", "status")
        }
        meta["generation"] = cur["metadata"]["generation"] + (1 if spec_changed else 0)
        if obj == cur:
            return copy.deepcopy(cur)
        if not (self.real_pods and kind.kind == "Pod"):
            simulate(obj)
        self._stamp(obj)
        self.objects[(kind.kind, ns, name)] = obj
        self._event(kind.kind, "MODIFIED", obj)
        return copy.deepcopy(obj)

    def set_status(self, kind: str, ns: str, name: str, status: Obj) -> None:
        """What a controller (the fake kubelet) reports: a new status, a MODIFIED event."""
        obj = self.objects.get((kind, ns, name))
        if obj is None:
            return
        obj["status"] = copy.deepcopy(status)
        self._stamp(obj)
        self._event(kind, "MODIFIED", obj)

    def delete(self, kind: Kind, ns: str, name: str) -> Obj:
        obj = self.objects.pop((kind.kind, ns, name), None)
        if obj is None:
            raise not_found(kind, name)
        self._stamp(obj)
        self._event(kind.kind, "DELETED", obj)
        if kind.kind == "Namespace":
            for key in [k for k in self.objects if k[1] == name]:
                gone = self.objects.pop(key)
                self._stamp(gone)
                self._event(key[0], "DELETED", gone)
        return obj


def simulate(obj: Obj) -> None:
    """Stand-in controllers: workloads report ready at once, claims bind, pods run, jobs
    complete. (A real cluster gets there later; the reconciler polls health either way.)"""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    gen = obj["metadata"].get("generation", 1)
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        n = int(spec.get("replicas", 1))
        obj["status"] = {
            "observedGeneration": gen,
            "replicas": n,
            "updatedReplicas": n,
            "readyReplicas": n,
            "availableReplicas": n,
            "currentRevision": "r",
            "updateRevision": "r",
        }
    elif kind == "PersistentVolumeClaim":
        obj["status"] = {"phase": "Bound"}
    elif kind == "Job":
        obj["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    elif kind == "Pod":
        obj["status"] = {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": c.get("name"),
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "image": c.get("image", ""),
                    "imageID": "",
                    "state": {"running": {"startedAt": obj["metadata"].get("creationTimestamp")}},
                }
                for c in spec.get("containers") or []
            ],
        }
