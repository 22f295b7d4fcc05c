"""Host ports on the podman host: who holds one, checked before ``kube play`` binds it.

``podman kube play`` that cannot bind a port leaves half-started pods behind,
so the target checks first: a port held by another pod of this shipway home
is reported with that pod, its object and its application; a port held by
any other process with its pid and name (read from ``/proc/net/tcp*`` and
``/proc/<pid>/fd``). Reads podman only through the target's ``podman``
method and touches nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from shipway.cluster import podman_kinds as kinds
from shipway.model.errors import ClusterError

Obj = dict[str, Any]


class _Runs(Protocol):
    def podman(self, *args: str, subject: str = "podman", check: bool = True) -> str: ...


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    return inodes


def holder(port: int) -> str | None:
    """Who listens on TCP ``port`` on any address: ``"process 123 (name)"``, or None."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in fds):
                name = Path(f"/proc/{pid}/comm").read_text().strip()
                if name == "conmon":
                    return f"process {pid} (conmon: a podman container outside this shipway home)"
                return f"process {pid} ({name})"
        except OSError:
            continue
    return "a process whose owner cannot be read"


def held_by_pods(target: _Runs) -> dict[int, str]:
    """Host port → the shipway pod of this home that publishes it, described."""
    raw = target.podman("ps", "-a", "--format", "json", check=False)
    infra = [c for c in json.loads(raw or "[]") or [] if c.get("IsInfra") and c.get("Ports")]
    if not infra:
        return {}
    raw = target.podman("pod", "ps", "--format", "json", check=False)
    pods = {p["Id"]: p for p in json.loads(raw or "[]") or []}
    out: dict[int, str] = {}
    for c in infra:
        pod = pods.get(c.get("Pod") or "") or {}
        labels = pod.get("Labels") or {}
        what = f"pod {pod.get('Name', c.get('Pod', '?'))}"
        if labels.get(kinds.OWNER_KIND):
            what += (
                f" of {labels[kinds.OWNER_KIND]}/{labels.get(kinds.OWNER_NAMESPACE, '')}/"
                f"{labels.get(kinds.OWNER_NAME, '')}"
            )
        if labels.get(kinds.INSTANCE_LABEL):
            what += f" (application {labels[kinds.INSTANCE_LABEL]})"
        for p in c["Ports"]:
            for port in range(int(p["host_port"]), int(p["host_port"]) + int(p.get("range", 1))):
                out[port] = what
    return out


def _infra_ports(target: _Runs) -> dict[int, str]:
    """Host port → the name of the pod (of this home) whose infra container publishes it."""
    raw = target.podman("ps", "-a", "--pod", "--format", "json", check=False)
    out: dict[int, str] = {}
    for c in json.loads(raw or "[]") or []:
        if not (c.get("IsInfra") and c.get("Ports")):
            continue
        for p in c["Ports"]:
            for port in range(int(p["host_port"]), int(p["host_port"]) + int(p.get("range", 1))):
                out[port] = str(c.get("PodName") or c.get("Pod") or "?")
    return out


def check_free(target: _Runs, obj: Obj, wanted: dict[int, str], own: set[str]) -> None:
    """Raise ``ClusterError`` naming the port and its holder if one of ``wanted`` is taken.

    ``wanted``: host port → what publishes it; ``own``: the pods being replaced
    (the ports they hold are the object's own). One ``podman ps`` answers the usual
    case (free, or held by the pods being replaced); the holder is described (its
    object and application) only when there is a conflict.
    """
    if not wanted:
        return
    pods = _infra_ports(target)
    described: dict[int, str] | None = None
    for port, source in sorted(wanted.items()):
        pod = pods.get(port)
        if pod is not None and pod in own:
            continue
        if pod is not None:
            described = held_by_pods(target) if described is None else described
            held: str | None = described.get(port) or f"pod {pod}"
            if held is not None and held.split()[1] in own:
                continue
        else:
            held = holder(port)
        if held is not None:
            raise ClusterError(
                f"host port 127.0.0.1:{port} (published by {source}) is already held by {held}",
                subject=kinds.describe(obj),
            )
