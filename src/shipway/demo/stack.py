"""The demo's supervised services: controller, registry (notifying the controller), git daemon.

Ports are remembered in ``<home>/demo/ports.json`` so a second run finds the
same addresses (the services', dev's NodePort and one NodePort per promotion
stage: test, uat, prod); a remembered port that another program has taken is replaced
by a free one, and the demo says so. NodePorts are only bound once the pods start, so
demos of several homes on one machine record their NodePorts in a claims file under the
system temp directory (``shipway-demo-nodeports.json``, read and written under ``flock``)
and never pick one another live home holds. Touches ``<home>/run``, ``<home>/demo`` and
that claims file.
"""

from __future__ import annotations

import fcntl
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from shipway.demo.stages import STAGES
from shipway.model.errors import ServiceError
from shipway.runtime import docker_api, ports, services
from shipway.settings import Settings


@dataclass
class Stack:
    controller: services.Service
    registry: services.Service
    git: services.Service
    git_base: Path
    app_port: int
    stage_ports: dict[str, int]

    @property
    def registry_host(self) -> str:
        return f"127.0.0.1:{self.registry.port}"

    def git_url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.git.port}/{name}.git"


def _ports_file(settings: Settings) -> Path:
    return settings.home / "demo" / "ports.json"


def _choose_ports(settings: Settings) -> dict[str, int]:
    f = _ports_file(settings)
    saved: dict[str, int] = json.loads(f.read_text()) if f.exists() else {}
    chosen: dict[str, int] = {}
    for name in ("controller", "registry", "git-daemon"):
        live = services.load(settings.run_dir, name)
        port = saved.get(name)
        if live is not None:
            chosen[name] = live.port
        elif port and ports.is_free(port):
            chosen[name] = port
        else:
            chosen[name] = ports.free_port()
            if port:
                print(f"port {port} for {name} is taken; using {chosen[name]}", file=sys.stderr)
    f.parent.mkdir(parents=True, exist_ok=True)
    with _node_port_claims(settings.home) as claims:
        others = {int(p) for p, home in claims.items() if home != str(settings.home)}
        for name in ("app", *STAGES):  # dev's NodePort, then one per promotion stage
            port = saved.get(name)
            if not port or port in others:
                port = _free_node_port(set(chosen.values()) | others)
            chosen[name] = port
            claims[str(port)] = str(settings.home)
        f.write_text(json.dumps(chosen))
    return chosen


_PORT_LOST = ("is already taken", "address already in use")


def _on_a_free_port(
    settings: Settings,
    chosen: dict[str, int],
    name: str,
    start: Callable[[int], services.Service],
    attempts: int = 3,
) -> services.Service:
    """Start ``name`` on its chosen port; when another process took that port between the
    choice and the start, choose a fresh one (saved in ``demo/ports.json``) and try again."""
    for attempt in range(attempts):
        try:
            return start(chosen[name])
        except ServiceError as exc:
            lost = any(m in str(exc).lower() for m in _PORT_LOST)
            if not lost or attempt == attempts - 1:
                raise
            taken, chosen[name] = chosen[name], ports.free_port()
            print(f"port {taken} for {name} was taken; using {chosen[name]}", file=sys.stderr)
            _ports_file(settings).write_text(json.dumps(chosen))
    raise AssertionError("unreachable")


def _claims_path() -> Path:
    return Path(tempfile.gettempdir()) / "shipway-demo-nodeports.json"


@contextmanager
def _node_port_claims(home: Path) -> Iterator[dict[str, str]]:
    """The machine's NodePort claims (port → home), locked; stale claims dropped; saved on exit.

    A claim is stale when its home's ``demo/ports.json`` is gone or no longer names the port.
    """
    path = _claims_path()
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            raw = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            raw = {}
        claims: dict[str, str] = {}
        for port, owner in raw.items() if isinstance(raw, dict) else ():
            if str(owner) != str(home) and _still_claimed(Path(str(owner)), str(port)):
                claims[str(port)] = str(owner)
        yield claims
        path.write_text(json.dumps(claims))


def _still_claimed(home: Path, port: str) -> bool:
    try:
        saved = json.loads((home / "demo" / "ports.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(saved, dict) and port in {str(v) for v in saved.values()}


def _free_node_port(taken: set[int]) -> int:
    for candidate in range(30080, 32767):
        if candidate not in taken and ports.is_free(candidate):
            return candidate
    raise ServiceError("no free port in the NodePort range 30080-32767", subject="demo")


def _start_controller(settings: Settings, port: int) -> services.Service:
    existing = services.load(settings.run_dir, "controller")
    if existing:
        return existing
    argv = [sys.executable, "-m", "shipway.cli.main", "controller", "--port", str(port)]
    env = {"SHIPWAY_HOME": str(settings.home), "PYTHONUNBUFFERED": "1"}
    if settings.database_url:
        env["SHIPWAY_DATABASE_URL"] = settings.database_url
    svc = services.spawn(settings.run_dir, "controller", argv, port, env=env, ready_timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{svc.url}/healthz", timeout=1).status_code == 200:
                return svc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise ServiceError("controller did not answer /healthz", subject="controller")


def up(settings: Settings, registry_token: str = "") -> Stack:
    """Start (or reuse) every service the demo needs; return their addresses.

    ``registry_token`` is what the registry's notifications carry to the controller."""
    chosen = _choose_ports(settings)
    ctl = _on_a_free_port(settings, chosen, "controller", lambda p: _start_controller(settings, p))
    settings.controller_url_file.write_text(ctl.url)
    reg = _on_a_free_port(
        settings,
        chosen,
        "registry",
        lambda p: services.registry(
            settings.run_dir,
            settings.home / "demo" / "registry",
            p,
            notify_url=f"{ctl.url}/hooks/registry",
            notify_token=registry_token or None,
        ),
    )
    git_base = settings.home / "demo" / "git"
    git = _on_a_free_port(
        settings, chosen, "git-daemon", lambda p: services.git_daemon(settings.run_dir, git_base, p)
    )
    return Stack(
        controller=ctl,
        registry=reg,
        git=git,
        git_base=git_base,
        app_port=chosen["app"],
        stage_ports={s: chosen[s] for s in STAGES},
    )


def down(settings: Settings) -> list[str]:
    """Stop every supervised service; return the names that were running."""
    stopped = []
    for name in ("controller", "registry", "git-daemon", docker_api.SERVICE):
        if services.stop(settings.run_dir, name):
            stopped.append(name)
    url = settings.controller_url_file
    if url.exists():
        url.unlink()
    return stopped


def ui_login(settings: Settings, controller_url: str) -> str:
    """The line the demo prints for the web UI: its URL and the initial admin login
    (``$SHIPWAY_HOME/initial-admin.json``, written by the controller's first start)."""
    from shipway.auth.accounts import INITIAL_SECRET, initial_admin

    secret = initial_admin(settings.home)
    if secret is None or not secret.get("password"):
        return (f"  web UI {controller_url}/ (no {INITIAL_SECRET}: sign in with an account "
                "made by shipway account create)")  # fmt: skip
    user = secret.get("username") or "admin"
    return (f"  web UI {controller_url}/ : sign in as {user} with password "
            f"{secret['password']} (from {settings.home / INITIAL_SECRET})")  # fmt: skip
