"""The CI executor interface: where the steps of one job run (host, podman, Kubernetes).

The contract every CI syntax (GitHub Actions, Tekton, GitLab CI) runs its steps
through, and the only module of ``shipway.ci.exec`` a syntax imports. It is data
in, data out: a syntax describes a job session (``SessionSpec``) and its steps
(``StepSpec``); the executor runs them and returns ``StepOutcome``. Nothing here
knows a syntax's expressions, runner files or result words.

The session (``open_session(name, spec, config)``, a context manager)::

    with open_session("podman", SessionSpec(run_id="r1", job="build",
                                            mounts=[Mount(ws, "/workspace/src")],
                                            image="busybox", services=[...]),
                      ExecutorConfig(podman_env=env)) as s:
        out = s.run(StepSpec(script="make", shell=("sh", "-e", "{0}"), cwd="/workspace/src",
                             env={"PATH": s.path}, timeout=600, on_line=print))

A run killed outright (its driver SIGKILLed) may leave what its executor
started running; before it resumes, ``remove_leftovers(name, run_id, config)``
removes it (podman: the containers named ``shipway-ci-<run>-…``).

- ``mounts``: host directories each container of the session sees at
  ``Mount.target`` (GitHub: the run directory at the same path; Tekton: the
  workspaces; GitLab: the project directory). ``scratch`` is a host directory
  the executor may write to (scripts, env and pid files); it is mounted at the
  same path. Steps on the host see the host paths.
- ``image``: the job container (GitHub ``container:``, GitLab ``image:``), kept
  running for the session; every step without an image of its own is run inside
  it. With no job image, such steps run as host processes (host and podman);
  the kubernetes executor needs a job image (``InputError`` on opening).
- ``services``: containers started before the first step and kept for the
  session (GitHub/GitLab ``services:``, Tekton ``sidecars``), reachable from the
  job container and step containers by ``Service.aliases`` on the session's
  network. Without a job image there is a network only when ``network`` asks for
  one (Tekton's sidecars and steps); otherwise services publish their ports on
  localhost (``Session.services[name].ports``: container port -> host port).
  On Kubernetes the Pod is the network (``localhost`` and the aliases).
  Services with a health check are waited for before the session is entered.
- a step with ``StepSpec.image`` runs in a fresh container of that image that
  shares the session's mounts and network (Tekton steps, GitHub Docker actions,
  GitLab jobs under the podman executor if the caller wishes);
  ``StepSpec.on_host`` runs a step as a host process even in a container
  session (what shipway itself runs: image builds, podman for Docker actions).
- ``containers`` (name -> image): step containers that live for the session,
  Tekton's way on Kubernetes (each step a container of the TaskRun's Pod): the
  kubernetes executor starts each in the session's Pod (kept running, the
  session's mounts) and a step with ``StepSpec.container`` and an
  ``entrypoint`` is an exec in it (its image needs ``sh`` and ``tail``, as the
  job image does); such a session needs no job image. The host and podman
  executors ignore them (the step's image runs afresh).
- ``close`` (the context manager's exit) removes everything the session made,
  bounded in time; a failure to remove is logged through ``SessionSpec.log``,
  never raised.

Opening: ``open_session`` raises ``InputError`` at once for an unknown executor
name; everything else (pulls, the Pod, service health) happens on entering the
``with``, and what was made by then is removed when entering fails. Errors about
the spec name ``SessionSpec.where`` (the job's ``file:line:col``) when given.
``Session.build`` builds a Dockerfile directory into an image the session's steps
may use (podman here, also for the single-node Kubernetes clusters).

Which executor a syntax asks for is the syntax's choice (GitHub: ``kubernetes``
when ``--executor kubernetes`` and the job has an image, else ``podman`` with an
image, else ``host``); the implementations differ in where the job image and
services live, not in the step contract.

Everything an executor creates is named ``shipway-ci-<run>-<job>-...``
(``resource_prefix``) and labelled with the run and job on Kubernetes, so a
leftover is found and replaced by the next try of the same job.

A step gets exactly ``StepSpec.env`` as its environment (the caller composes it:
``Session.path`` is the PATH of the job container). ``timeout`` is in seconds;
``cancel`` kills the step (and its process tree); ``on_line`` gets each output
line (stdout and stderr merged, without the newline) as it arrives, except for
Kubernetes step Pods of their own, whose log arrives when they end. Errors:
``CIError`` (an image that cannot be pulled, a Pod that never runs) and
``InputError`` (a bad service spec) from ``shipway.model.errors``; ``OSError``
when a host process cannot start.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from shipway.model.errors import InputError
from shipway.runtime.host import Cancel

__all__ = [
    "EXECUTORS",
    "Cancel",
    "Credentials",
    "ExecutorConfig",
    "Mount",
    "Service",
    "ServiceInfo",
    "Session",
    "SessionSpec",
    "StepOutcome",
    "StepSpec",
    "dns_name",
    "open_session",
    "opened",
    "resource_prefix",
    "step_argv",
]

EXECUTORS = ("host", "podman", "kubernetes")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Mount:
    """A host directory (``source``) seen at ``target`` inside the session's containers."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Credentials:
    """Registry credentials for pulling one image (GitHub ``credentials:``)."""

    username: str
    password: str = ""


@dataclass(frozen=True)
class Service:
    """A container that lives for the session (a service or a sidecar).

    ``name`` names the container (``shipway-ci-<run>-<job>-svc-<name>``); ``aliases``
    are the host names it answers to on the session's network (default: ``name``).
    ``ports`` are Docker's ``[host:]container[/proto]``; ``volumes`` Docker's
    ``source:target[:ro]`` or a bare path (an empty volume); ``options`` Docker
    ``create`` flags (``--health-cmd`` and friends; Kubernetes maps the ones it can).
    ``entrypoint``/``command`` replace the image's (Tekton ``command``/``args``,
    GitLab ``entrypoint``/``command``).
    """

    name: str
    image: str
    aliases: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    options: str = ""
    credentials: Credentials | None = None
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] = ()

    @property
    def hostnames(self) -> tuple[str, ...]:
        return self.aliases or (self.name,)


@dataclass(frozen=True)
class ServiceInfo:
    """A started service, as GitHub's ``job.services.<id>`` shows it."""

    id: str
    network: str
    ports: Mapping[str, str] = field(default_factory=dict)  # container port -> reachable port


@dataclass(frozen=True)
class SessionSpec:
    """What one job's session needs (see the module docstring)."""

    run_id: str
    job: str  # unique in the run (a matrix instance's key): names what the session makes
    mounts: Sequence[Mount] = ()
    scratch: str | None = None  # a host directory for the executor's files (scripts, env)
    workdir: str | None = None  # the job container's working directory
    image: str | None = None  # the job container
    containers: Mapping[str, str] = field(default_factory=dict)  # name -> image (see below)
    network: bool = False  # a network even without a job image (Tekton: steps reach sidecars)
    image_env: Mapping[str, str] = field(default_factory=dict)
    image_options: str = ""  # Docker create flags of the job container
    image_ports: tuple[str, ...] = ()
    image_volumes: tuple[str, ...] = ()
    image_credentials: Credentials | None = None
    services: Sequence[Service] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # Kubernetes labels (data only)
    timeout: float = 6 * 3600.0  # the session's bound (a Pod's activeDeadlineSeconds)
    where: str = ""  # file:line:col of the job: the subject of errors about this spec
    log: Callable[[str], None] = lambda _line: None  # what the executor says it does
    cancel: Cancel = field(default_factory=Cancel)


@dataclass(frozen=True)
class StepSpec:
    """One process of a step.

    Either ``argv`` or ``script``: a script is written to the session's scratch
    directory and ``{0}`` in ``shell`` replaced by its path (GitHub's convention;
    Tekton's script becomes ``("sh", "{0}")`` after its shebang rule). ``entrypoint``
    (with ``image`` only) replaces the image's; ``argv`` is then its arguments.
    """

    argv: Sequence[str] = ()
    script: str | None = None
    shell: Sequence[str] = ("sh", "-e", "{0}")
    script_ext: str = ".sh"
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "/"  # with ``image``, "" keeps the image's working directory
    timeout: float = 3600.0
    on_line: Callable[[str], None] = lambda _line: None
    cancel: Cancel | None = None  # default: the session's
    image: str | None = None  # a fresh container of its own, sharing mounts and network
    entrypoint: str | None = None
    on_host: bool = False  # a host process even in a container session
    container: str = ""  # with ``image``: the session's step container (``SessionSpec.containers``)


@dataclass(frozen=True)
class StepOutcome:
    exit_code: int  # -1 when it timed out or was cancelled
    timed_out: bool = False
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.cancelled


@dataclass(frozen=True)
class ExecutorConfig:
    """How to reach the executors' backends (not about any one job)."""

    podman_env: Mapping[str, str] = field(default_factory=dict)  # CONTAINERS_CONF and friends
    kube: Mapping[str, Any] = field(default_factory=dict)  # kubeconfig, context, server,
    # namespace, pvc, pvc_path, pod_timeout, pod_template (ci.exec.kubernetes)


class Session(Protocol):
    """An open job session."""

    spec: SessionSpec
    cid: str | None  # the job container (or Pod) name; ``None``: steps run on the host
    network: str | None
    services: dict[str, ServiceInfo]
    path: str  # PATH inside the job container (the host's when there is none)

    def which(self, program: str) -> bool:
        """Is ``program`` on the job container's PATH (on the host: the PATH given)?"""
        ...

    def run(self, step: StepSpec) -> StepOutcome:
        """Run one step; raise ``OSError`` when a host process cannot start."""
        ...

    def capture(self, argv: Sequence[str], timeout: float = 60.0) -> tuple[int, str]:
        """Run a short probe in the job container (or on the host); (exit code, output)."""
        ...

    def build(self, context: str, tag: str) -> None:
        """Build an image from the Dockerfile in ``context`` for the session's steps
        (GitHub Docker actions); ``CIError`` when the build fails."""
        ...


def resource_prefix(run_id: str, job: str) -> str:
    """``shipway-ci-<run>-<job>``: the prefix of every container, network and Pod."""
    return f"shipway-ci-{run_id}-{job}"


def dns_name(text: str, limit: int = 63) -> str:
    """A DNS-1123 label from ``text`` (a hash keeps long or mangled names unique)."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
    if name != text or len(name) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        name = f"{name[: limit - 9].rstrip('-')}-{digest}"
    return name


_counter: dict[str, int] = {}


def step_argv(step: StepSpec, scratch: str | None) -> list[str]:
    """The argv of ``step``: its ``argv``, or its script written under ``scratch``."""
    if step.script is None:
        return list(step.argv)
    if scratch is None:
        raise InputError("a script step needs the session's scratch directory",
                         subject="SessionSpec.scratch")  # fmt: skip
    n = _counter[scratch] = _counter.get(scratch, 0) + 1
    path = os.path.join(scratch, f"step-{n}{step.script_ext}")
    text = step.script if step.script.endswith("\n") else step.script + "\n"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o755)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return [a.replace("{0}", path) for a in step.shell]


_MODULES = {
    "host": "shipway.ci.exec.host",
    "podman": "shipway.ci.exec.podman",
    "kubernetes": "shipway.ci.exec.kubernetes",
}


def open_session(
    name: str, spec: SessionSpec, config: ExecutorConfig | None = None
) -> AbstractContextManager[Session]:
    """Open a session on the executor ``name`` (``host``, ``podman`` or ``kubernetes``).

    The implementation is looked up by name so that a syntax depends on this module
    only; each implementation module has ``session(spec, config)``.
    """
    if name not in _MODULES:
        raise InputError(f"unknown executor {name!r} (one of {', '.join(EXECUTORS)})",
                         subject="--executor")  # fmt: skip
    module = importlib.import_module(_MODULES[name])
    opened: AbstractContextManager[Session] = module.session(spec, config or ExecutorConfig())
    return opened


def remove_leftovers(name: str, run_id: str, config: ExecutorConfig) -> list[str]:
    """Before a run killed outright resumes: remove what the executor ``name`` still runs
    for it (an implementation's ``leftovers(run_id, config)``, when it has one); their
    names."""
    if name not in _MODULES:
        return []
    module = importlib.import_module(_MODULES[name])
    found = getattr(module, "leftovers", None)
    return list(found(run_id, config)) if found is not None else []


def clear_leftovers(name: str, run_id: str, config: ExecutorConfig,
                    say: Callable[[str], None]) -> None:  # fmt: skip
    """``remove_leftovers`` of the executor ``name`` and of podman (the containers of jobs
    with an image run there on any executor), said in the run's log."""
    gone = remove_leftovers(name, run_id, config)
    if name != "podman":
        gone += remove_leftovers("podman", run_id, config)
    if gone:
        say(f"[{run_id}] removed {len(gone)} container(s) the interrupted run left: "
            f"{', '.join(gone)}")  # fmt: skip


class _Box(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...


BoxT = TypeVar("BoxT", bound=_Box)


@contextmanager
def opened(box: BoxT) -> Iterator[BoxT]:
    """``box.open()``, yield it, ``box.close()`` at the end even when opening failed
    half-way (what each implementation's ``session(spec, config)`` returns)."""
    try:
        box.open()
        yield box
    finally:
        box.close()


def iter_lines(text: str) -> Iterator[str]:
    """Lines of a finished output (Kubernetes logs) as ``on_line`` would get them."""
    yield from text.splitlines()
