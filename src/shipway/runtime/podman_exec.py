"""Podman for CI jobs: networks, service containers, a job container and ``exec`` into it.

An adapter: every ``podman`` call goes through here with the environment
from ``runtime.podman_env``; failures become ``CIError`` naming the image or
container. Touches only the containers and networks it creates (all named
``shipway-ci-<run>-...``), and removes them in ``close()`` (or, for a run that
was killed, ``remove_leftovers`` by that prefix).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shipway.model.errors import CIError

KEEPALIVE = ["tail", "-f", "/dev/null"]


@dataclass
class Podman:
    env: dict[str, str]  # CONTAINERS_CONF and friends
    prefix: str  # name prefix for everything this object creates
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    @property
    def host_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def _run(self, args: Sequence[str], subject: str, timeout: float = 600) -> str:
        try:
            proc = subprocess.run(["podman", *args], env=self.host_env, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CIError(f"podman {args[0]} failed: {exc}", subject=subject) from None
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise CIError(f"podman {args[0]}: {lines[-1] if lines else proc.returncode}",
                          subject=subject)  # fmt: skip
        return proc.stdout.strip()

    def network(self) -> str:
        name = f"{self.prefix}-net"
        self._run(["network", "create", name], name)
        self.networks.append(name)
        return name

    def pull(self, image: str, credentials: Mapping[str, str] | None = None) -> None:
        if not credentials:
            try:
                self._run(["image", "exists", image], image, timeout=60)
                return
            except CIError:
                pass
        args = ["pull", "-q"]
        if credentials and credentials.get("username"):
            args += ["--creds", f"{credentials['username']}:{credentials.get('password', '')}"]
        self._run([*args, image], image)

    def start(
        self,
        name: str,
        image: str,
        *,
        command: Sequence[str] = (),
        entrypoint: str | None = None,
        env: Mapping[str, str] | None = None,
        mounts: Sequence[tuple[str, str, str]] = (),
        network: str | None = None,
        alias: str | Sequence[str] | None = None,
        ports: Sequence[str] = (),
        options: Sequence[str] = (),
        workdir: str | None = None,
    ) -> str:
        """``podman run -d``; returns the container id."""
        full = f"{self.prefix}-{name}"
        args = ["run", "-d", "--name", full]
        if network:
            args += ["--network", network]
            for name_ in [alias] if isinstance(alias, str) else alias or ():
                args += ["--network-alias", name_]
        for src, dst, mode in mounts:
            args += ["-v", f"{src}:{dst}:{mode}"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        for port in ports:
            args += ["-p", port]
        if entrypoint is not None:
            args += ["--entrypoint", entrypoint]
        if workdir:
            args += ["-w", workdir]
        args += [*options, image, *command]
        cid = self._run(args, image)
        self.containers.append(full)
        return cid

    def port(self, container: str, port: str) -> str:
        """The host port published for ``port`` (``80`` or ``80/tcp``)."""
        out = self._run(["port", container, port], container)
        return out.splitlines()[0].rsplit(":", 1)[-1] if out else ""

    def has(self, container: str, program: str) -> bool:
        try:
            self._run(["exec", container, "sh", "-c", f"command -v {program}"], container, 60)
            return True
        except CIError:
            return False

    def inspect(self, container: str, fmt: str) -> str:
        """``podman inspect --format fmt`` of one container."""
        return self._run(["inspect", "--format", fmt, container], container, 60)

    def healthcheck(self, container: str, timeout: float) -> bool:
        """Run the container's health check once (podman records the result); passed?"""
        try:
            self._run(["healthcheck", "run", container], container, timeout)
            return True
        except CIError:
            return False

    def printenv(self, container: str, name: str) -> str:
        try:
            return self._run(["exec", container, "printenv", name], container, 60)
        except CIError:
            return ""

    def exec_argv(self, container: str, argv: Sequence[str], env: Mapping[str, str],
                  workdir: str) -> list[str]:  # fmt: skip
        """The command line that runs ``argv`` inside ``container`` with ``env``."""
        args = ["podman", "exec", "-w", workdir]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        return [*args, container, *argv]

    def run_argv(
        self,
        image: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        mounts: Sequence[tuple[str, str, str]],
        workdir: str,
        entrypoint: str | None = None,
        network: str | None = None,
        name: str | None = None,
    ) -> list[str]:
        """The command line of a one-off ``podman run --rm`` (Docker actions, steps with an
        image); ``name``: the container is ``<prefix>-<name>``, so a run killed while it runs
        finds it again (``remove_leftovers``)."""
        args = ["podman", "run", "--rm", *(["-w", workdir] if workdir else [])]
        if name:  # podman's name characters; the run's prefix stays as it is
            args += ["--name", re.sub(r"[^a-zA-Z0-9_.-]", "-", f"{self.prefix}-{name}")]
        if network:
            args += ["--network", network]
        for src, dst, mode in mounts:
            args += ["-v", f"{src}:{dst}:{mode}"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        if entrypoint:
            args += ["--entrypoint", entrypoint]
        return [*args, image, *argv]

    def build(self, context: str, tag: str) -> None:
        self._run(["build", "-q", "--network", "host", "-t", tag, context], context, 1200)

    def close(self) -> None:
        """Remove every container and network this object made (errors ignored)."""
        for name in reversed(self.containers):
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=self.host_env,
                           capture_output=True, timeout=120)  # fmt: skip
        for net in self.networks:
            subprocess.run(["podman", "network", "rm", "-f", net], env=self.host_env,
                           capture_output=True, timeout=120)  # fmt: skip
        self.containers.clear()
        self.networks.clear()


def remove_leftovers(env: Mapping[str, str], prefix: str) -> list[str]:
    """Remove (``rm -f``) every container whose name starts with ``prefix``: what a run that
    was killed outright left running; their names. Errors (no podman) leave none removed."""
    host_env = {**os.environ, **env}
    try:
        out = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], env=host_env,
                             capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = [n for n in out.stdout.split() if n.startswith(prefix)] if out.returncode == 0 else []
    for name in names:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=host_env,
                       capture_output=True, timeout=120, check=False)  # fmt: skip
    return names
