"""Ingress on the podman host: backend ports, routing tables and the one proxy per home.

- **Backends.** A Service port an Ingress routes to must be reachable from the
  proxy: a ``NodePort``/``LoadBalancer`` Service already publishes it on
  127.0.0.1 (``nodePort``, else ``port``); a ``ClusterIP`` one gets a free
  loopback port, allocated once and kept in
  ``$SHIPWAY_HOME/podman/objects/<app>.ingress.json`` until no Ingress routes
  to it (then released). ``published(records, ports)`` gives those as
  Service documents that publish them, which the target adds to what
  ``podman_kinds.pods`` reads, so the selected pods bind them (127.0.0.1 only).
- **Routes.** ``write_routes`` writes the app's table (``ingress_routes.table``)
  to ``$SHIPWAY_HOME/podman/ingress/routes/<app>.json`` atomically on every
  sync and delete; no Ingress, no file.
- **Proxy.** ``ensure_proxy`` starts ``shipway.cluster.ingress_proxy`` detached
  (pid, port and log under ``$SHIPWAY_HOME/podman/ingress``) unless it runs;
  its port is chosen once per home and reused on restart. ``stop_proxy`` ends
  it (``--clean``). The Ingress's ``status.loadBalancer.ingress`` is
  ``127.0.0.1`` with that port.

Touches ``$SHIPWAY_HOME/podman`` and the proxy process it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shipway.cluster import ingress_routes as routes_mod
from shipway.cluster import podman_kinds as kinds
from shipway.model.errors import ClusterError

Obj = dict[str, Any]
Ports = dict[str, int]  # "namespace/service/port" → host port


def _dir(base: Path) -> Path:
    return base / "ingress"


def _port_key(svc: Obj, entry: Obj) -> str:
    return f"{kinds.namespace(svc)}/{svc['metadata']['name']}/{entry.get('port')}"


def _exposes(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer")


def load_ports(base: Path, app: str) -> Ports:
    f = base / "objects" / f"{app}.ingress.json"
    return {str(k): int(v) for k, v in json.loads(f.read_text()).items()} if f.exists() else {}


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in taken:
            return port


def allocate(base: Path, app: str, records: Iterable[Obj]) -> tuple[Ports, set[str]]:
    """Loopback ports for the ClusterIP Service ports the app's Ingresses route to.

    Returns the allocation and the Services (``namespace/name``) whose
    published ports changed (their pods must be played again).
    """
    before = load_ports(base, app)
    wanted = {
        _port_key(svc, entry): (svc, entry)
        for svc, entry in routes_mod.backends(records)
        if not _exposes(svc)
    }
    ports = {k: v for k, v in before.items() if k in wanted}
    taken = set(before.values())
    for key in wanted:
        if key not in ports:
            ports[key] = _free_port(taken)
            taken.add(ports[key])
    if ports != before:
        _write(base / "objects" / f"{app}.ingress.json", ports)
    moved = {k for k in {*ports, *before} if ports.get(k) != before.get(k)}
    changed = {k.rsplit("/", 1)[0] for k in moved}
    return ports, changed


def published(records: Iterable[Obj], ports: Ports) -> list[Obj]:
    """Service documents publishing each allocated port (read by ``podman_kinds.published``)."""
    out = []
    for svc in records:
        if svc.get("kind") != "Service" or _exposes(svc):
            continue
        entries = []
        for entry in (svc.get("spec") or {}).get("ports") or []:
            host = ports.get(_port_key(svc, entry))
            if host is not None:
                entries.append({**entry, "nodePort": host})
        if entries:
            doc = {**svc, "spec": {**(svc.get("spec") or {}), "type": "NodePort"}}
            doc["spec"]["ports"] = entries
            out.append(doc)
    return out


def write_routes(base: Path, app: str, records: Iterable[Obj], ports: Ports) -> bool:
    """Write (or remove) the app's routing table; True when it has an Ingress."""

    def host_port(svc: Obj, entry: Obj) -> int | None:
        if _exposes(svc):
            return int(entry.get("nodePort") or entry["port"])
        return ports.get(_port_key(svc, entry))

    items = list(records)
    f = _dir(base) / "routes" / f"{app}.json"
    if not any(r.get("kind") == "Ingress" for r in items):
        f.unlink(missing_ok=True)
        return False
    _write(f, routes_mod.table(items, host_port))
    return True


# -- the proxy process ---------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def proxy_port(base: Path) -> int | None:
    """The home's ingress port (chosen once), or None before any Ingress was synced."""
    f = _dir(base) / "proxy.json"
    return int(json.loads(f.read_text())["port"]) if f.exists() else None


def ensure_proxy(base: Path, timeout: float = 15.0) -> int:
    """Start the proxy unless it runs; its port."""
    state_file = _dir(base) / "proxy.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    port = int(state.get("port") or 0)
    if port and state.get("pid") and _alive(int(state["pid"])) and _listening(port):
        return port
    if not port:
        port = _free_port(set())
    routes = _dir(base) / "routes"
    routes.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "shipway.cluster.ingress_proxy", "--routes", str(routes)]
    with open(_dir(base) / "log", "ab") as log:
        proc = subprocess.Popen(
            [*argv, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _write(state_file, {"pid": proc.pid, "port": port})
    deadline = time.monotonic() + timeout
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (_dir(base) / "log").read_text(errors="replace")[-600:]
            raise ClusterError(
                f"the ingress proxy did not listen on 127.0.0.1:{port}: {tail}",
                subject="ingress proxy",
            )
        time.sleep(0.05)
    return port


def stop_proxy(base: Path) -> bool:
    """Stop this home's proxy (and forget every routing table); True when one ran."""
    state_file = _dir(base) / "proxy.json"
    if not state_file.exists():
        return False
    pid = int(json.loads(state_file.read_text()).get("pid") or 0)
    state_file.unlink()
    for f in (_dir(base) / "routes").glob("*.json"):
        f.unlink()
    if not pid or not _alive(pid):
        return False
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)
    return True
