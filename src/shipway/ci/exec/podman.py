"""The podman executor: a job session as a network, service containers and a job container.

Implements ``ci.exec.base.Session`` with podman (through ``runtime.podman_exec``):

- a network ``shipway-ci-<run>-<job>-net`` when the session has a job image or
  asks for one (services then answer to their aliases on it); without one,
  services publish their ports on localhost (``ServiceInfo.ports``);
- services ``...-svc-<name>``, waited for when they have a health check
  (``ci.exec.health``); the job container ``...-job`` kept alive with
  ``tail -f /dev/null``, every mount (and the scratch directory) at its target;
- a step without an image is ``podman exec``-ed in the job container (with no
  job container: a host process, ``ci.exec.host``); a step with an image is a
  ``podman run --rm`` with the session's mounts, network and the step's env, named
  ``...-step-<random>`` (a killed run's are found by the prefix when it resumes).

``session(spec, config)`` is the entry point ``ci.exec.base.open_session``
calls. Touches only what it creates, and removes it all when the session ends.
Knows no CI syntax.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from shipway.ci.exec import host
from shipway.ci.exec.base import (
    DEFAULT_PATH,
    Cancel,
    ExecutorConfig,
    Service,
    ServiceInfo,
    SessionSpec,
    StepOutcome,
    StepSpec,
    opened,
    resource_prefix,
    step_argv,
)
from shipway.ci.exec.health import wait_podman
from shipway.model.errors import CIError, InputError
from shipway.runtime.podman_exec import KEEPALIVE, Podman, remove_leftovers

Vol = tuple[str, str, str]


def volume(text: str) -> Vol:
    """Docker's ``source[:target[:mode]]`` as (source, target, mode)."""
    parts = text.split(":")
    return (parts[0], parts[1] if len(parts) > 1 else parts[0],
            parts[2] if len(parts) > 2 else "rw")  # fmt: skip


class PodmanSession:
    """One job's containers (see the module docstring)."""

    def __init__(self, spec: SessionSpec, config: ExecutorConfig) -> None:
        self.spec, self.config = spec, config
        self._podman: Podman | None = None  # made at the first podman call (host steps: none)
        self.cid: str | None = None
        self.network: str | None = None
        self.services: dict[str, ServiceInfo] = {}
        self.path = os.environ.get("PATH", DEFAULT_PATH)
        self.has_bash = False
        self.host_cwd = Path(spec.scratch or spec.workdir or os.getcwd())

    @property
    def podman(self) -> Podman:
        if self._podman is None:
            prefix = resource_prefix(self.spec.run_id, self.spec.job)
            self._podman = Podman(dict(self.config.podman_env), prefix)
        return self._podman

    # -- opening ----------------------------------------------------------------
    def mounts(self) -> list[Vol]:
        """Every mount of the session, and the scratch directory at its own path."""
        vols = [(m.source, m.target, "ro" if m.read_only else "rw") for m in self.spec.mounts]
        scratch = self.spec.scratch
        if scratch and not any(Path(scratch).is_relative_to(m.source) and m.source == m.target
                               for m in self.spec.mounts):  # fmt: skip
            vols.append((scratch, scratch, "rw"))
        return vols

    def open(self) -> None:
        spec = self.spec
        if spec.image or spec.network:
            self.network = self.podman.network()
        for svc in spec.services:
            self._service(svc)
        if spec.image:
            self._job_container(spec.image)
        if self.services:
            wait_podman(spec, self.podman, {n: s.id for n, s in self.services.items()})

    def _service(self, svc: Service) -> None:
        if not svc.image:
            raise InputError(f"service {svc.name!r} has no image",
                             subject=self.spec.where or f"service {svc.name}")  # fmt: skip
        creds = svc.credentials
        self.podman.pull(svc.image, {"username": creds.username, "password": creds.password}
                         if creds else None)  # fmt: skip
        self.spec.log(f"Starting service {svc.name} ({svc.image})")
        name = f"svc-{svc.name}"
        entry = _entrypoint(svc.entrypoint)
        cid = self.podman.start(name, svc.image, env=dict(svc.env), network=self.network,
                                alias=svc.hostnames if self.network else None,
                                ports=[] if self.network else list(svc.ports),
                                mounts=[volume(v) for v in svc.volumes], entrypoint=entry,
                                command=list(svc.command),
                                options=shlex.split(svc.options))  # fmt: skip
        mapped: dict[str, str] = {}
        if not self.network:
            for port in svc.ports:
                inner = port.split(":")[-1]
                mapped[inner.split("/")[0]] = self.podman.port(f"{self.podman.prefix}-{name}",
                                                               inner)  # fmt: skip
        self.services[svc.name] = ServiceInfo(cid, self.network or "", mapped)

    def _job_container(self, image: str) -> None:
        spec = self.spec
        creds = spec.image_credentials
        self.podman.pull(image, {"username": creds.username, "password": creds.password}
                         if creds else None)  # fmt: skip
        spec.log(f"Starting job container ({image})")
        mounts = self.mounts() + [volume(v) for v in spec.image_volumes]
        self.cid = self.podman.start("job", image, command=KEEPALIVE[1:],
                                     entrypoint=KEEPALIVE[0], env=dict(spec.image_env),
                                     mounts=mounts, network=self.network,
                                     ports=list(spec.image_ports), workdir=spec.workdir,
                                     options=shlex.split(spec.image_options))  # fmt: skip
        self.path = self.podman.printenv(self.cid, "PATH") or DEFAULT_PATH
        self.has_bash = self.podman.has(self.cid, "bash")
        if not self.podman.has(self.cid, "tail"):
            raise CIError(f"image {image} has no 'tail' to keep the job container running",
                          subject=f"image {image}")  # fmt: skip

    def close(self) -> None:
        if self._podman is not None:
            self._podman.close()

    def build(self, context: str, tag: str) -> None:
        self.podman.build(context, tag)

    # -- steps ------------------------------------------------------------------
    def which(self, program: str) -> bool:
        if self.cid is None:
            return shutil.which(program, path=self.path) is not None
        return program == "sh" or (program == "bash" and self.has_bash)

    def run(self, step: StepSpec) -> StepOutcome:
        argv = step_argv(step, self.spec.scratch)
        cancel = step.cancel or self.spec.cancel
        if step.image:
            self.podman.pull(step.image)
            full = self.podman.run_argv(step.image, argv, step.env, self.mounts(), step.cwd,
                                        entrypoint=step.entrypoint, network=self.network,
                                        name=f"step-{secrets.token_hex(4)}")  # fmt: skip
            return host.run_argv(full, str(self.host_cwd), self.podman.host_env, step, cancel)
        if self.cid is None or step.on_host:
            return host.run_argv(argv, step.cwd, step.env, step, cancel)
        full = self.podman.exec_argv(self.cid, argv, step.env, step.cwd)
        return host.run_argv(full, str(self.host_cwd), self.podman.host_env, step, cancel)

    def capture(self, argv: Sequence[str], timeout: float = 60.0) -> tuple[int, str]:
        lines: list[str] = []
        out = self.run(StepSpec(argv=argv, env={"PATH": self.path}, timeout=timeout,
                                cwd=self.spec.workdir or "/", on_line=lines.append,
                                cancel=Cancel()))  # fmt: skip
        return out.exit_code, "\n".join(lines).strip()


def _entrypoint(entry: tuple[str, ...] | None) -> str | None:
    if entry is None:
        return None
    import json

    return entry[0] if len(entry) == 1 else json.dumps(list(entry))


def session(spec: SessionSpec, config: ExecutorConfig) -> AbstractContextManager[PodmanSession]:
    """Open the session's containers; remove them all at the end."""
    return opened(PodmanSession(spec, config))


def leftovers(run_id: str, config: ExecutorConfig) -> list[str]:
    """Remove the containers a killed run left (all named ``shipway-ci-<run>-…``)."""
    return remove_leftovers(dict(config.podman_env), resource_prefix(run_id, ""))
