"""Supervised local services: a git daemon, a CNCF distribution registry, others.

Each service runs as a child process with its pid, port and log under
``<run_dir>/<name>``; ``start`` is idempotent (a live service is reused),
``stop`` ends it. Used by the demo and by the test fixtures alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shipway.model.errors import ServiceError
from shipway.runtime import ports


@dataclass
class Service:
    name: str
    pid: int
    port: int
    dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _state_file(run_dir: Path, name: str) -> Path:
    return run_dir / name / "service.json"


def load(run_dir: Path, name: str) -> Service | None:
    f = _state_file(run_dir, name)
    if not f.exists():
        return None
    data = json.loads(f.read_text())
    svc = Service(name=name, pid=data["pid"], port=data["port"], dir=f.parent)
    return svc if svc.alive() else None


def spawn(
    run_dir: Path,
    name: str,
    argv: list[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ready_timeout: float = 15.0,
) -> Service:
    """Start ``argv`` detached, log to ``<dir>/log``, and wait until ``port`` listens."""
    d = run_dir / name
    d.mkdir(parents=True, exist_ok=True)
    if not ports.is_free(port):
        raise ServiceError(f"port {port} is already taken", subject=name)
    log = open(d / "log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    except OSError as exc:
        raise ServiceError(f"cannot start {argv[0]}: {exc}", subject=name) from exc
    finally:
        log.close()
    svc = Service(name=name, pid=proc.pid, port=port, dir=d)
    _state_file(run_dir, name).write_text(json.dumps({"pid": proc.pid, "port": port, "argv": argv}))
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                tail = (d / "log").read_text(errors="replace")[-800:]
                raise ServiceError(f"exited with status {proc.returncode}: {tail}", subject=name)
            try:
                ports.wait_listening(port, timeout=0.2, what=name)
                break
            except ServiceError:
                if time.monotonic() > deadline:
                    raise
    except ServiceError:
        stop(run_dir, name)
        raise
    return svc


def spawn_unix(
    run_dir: Path,
    name: str,
    argv: list[str],
    socket: Path,
    *,
    env: dict[str, str] | None = None,
    ready_timeout: float = 15.0,
) -> Service:
    """Like ``spawn`` for a service that listens on a unix socket (recorded with port 0)."""
    d = run_dir / name
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "log", "ab") as log:
        try:
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        except OSError as exc:
            raise ServiceError(f"cannot start {argv[0]}: {exc}", subject=name) from exc
    _state_file(run_dir, name).write_text(
        json.dumps({"pid": proc.pid, "port": 0, "socket": str(socket), "argv": argv})
    )
    deadline = time.monotonic() + ready_timeout
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (d / "log").read_text(errors="replace")[-800:]
            stop(run_dir, name)
            raise ServiceError(f"did not create {socket}: {tail}", subject=name)
        time.sleep(0.01)
    return Service(name=name, pid=proc.pid, port=0, dir=d)


def stop(run_dir: Path, name: str, timeout: float = 5.0) -> bool:
    """Stop a service (its whole process group); True when one was running."""
    f = _state_file(run_dir, name)
    if not f.exists():
        return False
    pid = json.loads(f.read_text())["pid"]
    f.unlink()
    if not pid_alive(pid):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)
    return True


def git_daemon(run_dir: Path, base: Path, port: int | None = None) -> Service:
    """A ``git daemon`` serving every repository under ``base``, pushes enabled."""
    existing = load(run_dir, "git-daemon")
    if existing:
        return existing
    if shutil.which("git") is None:
        raise ServiceError("git is not installed", subject="git-daemon")
    port = port or ports.free_port()
    base.mkdir(parents=True, exist_ok=True)
    argv = [
        "git",
        "daemon",
        "--reuseaddr",
        "--listen=127.0.0.1",
        f"--port={port}",
        f"--base-path={base}",
        "--export-all",
        "--enable=receive-pack",
        str(base),
    ]
    return spawn(run_dir, "git-daemon", argv, port)


_REGISTRY_BIN = "/usr/bin/docker-registry"


def registry(
    run_dir: Path,
    storage: Path,
    port: int | None = None,
    *,
    notify_url: str | None = None,
    notify_token: str | None = None,
    htpasswd: Path | None = None,
    token_auth: dict[str, str] | None = None,
    name: str = "registry",
) -> Service:
    """A CNCF distribution registry on loopback; optional push notifications and auth.

    ``notify_token`` goes with every notification as ``Authorization: Bearer …``
    (the endpoint's ``headers:``); the config file is then readable by its owner only.
    """
    existing = load(run_dir, name)
    if existing:
        return existing
    binary = shutil.which("docker-registry") or _REGISTRY_BIN
    if not Path(binary).exists():
        raise ServiceError(
            "docker-registry is not installed (apt-get install docker-registry)", subject=name
        )
    port = port or ports.free_port()
    storage.mkdir(parents=True, exist_ok=True)
    lines = [
        "version: 0.1",
        "log: {level: warn}",
        f"storage: {{filesystem: {{rootdirectory: {storage}}}, delete: {{enabled: true}}}}",
        f"http: {{addr: 127.0.0.1:{port}}}",
    ]
    if notify_url:
        lines += [
            "notifications:",
            "  endpoints:",
            "    - name: shipway",
            f"      url: '{notify_url}'",
            "      timeout: 2s",
            "      threshold: 3",
            "      backoff: 1s",
        ]
        if notify_token:
            lines += [f"      headers: {{Authorization: ['Bearer {notify_token}']}}"]
    if htpasswd:
        lines += ["auth:", f"  htpasswd: {{realm: shipway, path: {htpasswd}}}"]
    elif token_auth:
        lines += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in token_auth.items()]
    d = run_dir / name
    d.mkdir(parents=True, exist_ok=True)
    config = d / "config.yml"
    config.touch(mode=0o600)
    config.chmod(0o600)
    config.write_text("\n".join(lines) + "\n")
    return spawn(run_dir, name, [binary, "serve", str(config)], port)
