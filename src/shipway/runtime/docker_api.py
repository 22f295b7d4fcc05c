"""The Docker API for CI steps, served by podman, and registry aliases for the docker CLI.

Workflows written for GitHub's runners call ``docker build``, ``docker run``,
``docker login`` and ``docker push``. Here no Docker engine runs, so
``podman system service`` serves the Docker API on a unix socket under
``<home>/run`` and steps get ``DOCKER_HOST`` pointing at it.

Registry aliases (``ghcr.io`` → ``127.0.0.1:5000``) let such a workflow push
to a local registry unchanged: a ``docker`` shim placed first on the step's
``PATH`` rewrites image references and ``login`` hosts, says so on stderr,
and runs the real docker CLI. Touches ``<home>/run`` and ``<home>/podman``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from shipway.model.errors import ServiceError
from shipway.runtime import podman_env, services
from shipway.settings import Settings

SERVICE = "docker-api"

_SHIM = """#!{python} -I
# Installed by shipway: the docker CLI with registry aliases (host -> local registry).
import os, sys
ALIASES = {aliases}
REAL = {real!r}

def rewrite(arg):
    for host, target in ALIASES.items():
        if arg == host:
            return target
        if arg.startswith(host + "/"):
            return target + arg[len(host):]
    return arg

args = sys.argv[1:]
new = [rewrite(a) if not a.startswith("-") else a for a in args]
for i, a in enumerate(args):
    if a.startswith("--tag=") or a.startswith("-t="):
        key, _, val = a.partition("=")
        new[i] = key + "=" + rewrite(val)
changed = [(a, b) for a, b in zip(args, new) if a != b]
for a, b in changed:
    print("shipway: registry alias: " + a + " -> " + b, file=sys.stderr)
os.execv(REAL, [REAL] + new)
"""


def socket_path(settings: Settings) -> Path:
    return settings.run_dir / SERVICE / "podman.sock"


def ensure_service(settings: Settings, insecure_registries: list[str]) -> Path:
    """Start (or reuse) ``podman system service`` on a unix socket; return the socket.

    ``insecure_registries`` (plain-HTTP registries such as alias targets) are
    fixed when the service starts; a running service is reused as it is.
    """
    sock = socket_path(settings)
    if services.load(settings.run_dir, SERVICE) is not None and sock.exists():
        return sock
    if shutil.which("podman") is None:
        raise ServiceError("podman is not installed (apt-get install podman)", subject=SERVICE)
    env = podman_env.podman_env(settings.home / "podman")
    sock.parent.mkdir(parents=True, exist_ok=True)
    # Its own registries.conf: the shared one is rewritten by other podman users.
    regs = sock.parent / "registries.conf"
    lines = ["unqualified-search-registries = []", ""]
    for loc in sorted(set(insecure_registries)):
        lines += ["[[registry]]", f'location = "{loc}"', "insecure = true", ""]
    regs.write_text("\n".join(lines))
    env["CONTAINERS_REGISTRIES_CONF"] = str(regs)
    if sock.exists():
        sock.unlink()
    argv = ["podman", "system", "service", "--time=0", f"unix://{sock}"]
    services.spawn_unix(settings.run_dir, SERVICE, argv, sock, env=env)
    return sock


def write_shim(dir: Path, aliases: Mapping[str, str]) -> Path:
    """Write the aliasing ``docker`` shim into ``dir``; return ``dir`` (to put first on PATH)."""
    real = shutil.which("docker")
    if real is None:
        raise ServiceError("the docker CLI is not installed", subject="docker")
    dir.mkdir(parents=True, exist_ok=True)
    # podman's Docker API lets a plain-HTTP registry log in only when it is named
    # ``localhost``; the same server answers on 127.0.0.1 and on localhost.
    aliases = {host: _localhost(target) for host, target in aliases.items()}
    shim = dir / "docker"
    shim.write_text(
        _SHIM.format(python=sys.executable, aliases=json.dumps(dict(aliases)), real=real)
    )
    shim.chmod(0o755)
    return dir


def _localhost(target: str) -> str:
    for loopback in ("127.0.0.1:", "[::1]:"):
        if target.startswith(loopback):
            return "localhost:" + target[len(loopback) :]
    return target


def parse_aliases(text: str) -> dict[str, str]:
    """``ghcr.io=127.0.0.1:5000,docker.io=…`` → a mapping (``SHIPWAY_REGISTRY_ALIASES``)."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        host, sep, target = part.partition("=")
        if not sep or not host or not target:
            raise ServiceError(
                f"registry alias {part!r} is not HOST=TARGET", subject="SHIPWAY_REGISTRY_ALIASES"
            )
        out[host.strip()] = target.strip()
    return out


def step_env(
    settings: Settings, aliases: Mapping[str, str], insecure_registries: list[str]
) -> tuple[dict[str, str], list[str]]:
    """For CI steps: ``DOCKER_HOST`` on podman, and the directories to put first on ``PATH``.

    Nothing when podman or the docker CLI is missing: steps that call docker
    then fail with docker's own message, and steps that don't are unaffected.
    """
    if shutil.which("podman") is None or shutil.which("docker") is None:
        return {}, []
    targets = [*aliases.values(), *(_localhost(t) for t in aliases.values())]
    sock = ensure_service(settings, [*insecure_registries, *targets])
    env = {"DOCKER_HOST": f"unix://{sock}"}
    if not aliases:
        return env, []
    return env, [str(write_shim(settings.run_dir / SERVICE / "bin", aliases))]
