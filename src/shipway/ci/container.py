"""``container:`` and ``services:`` of a job, and the job sandboxes: podman and Kubernetes.

A ``Sandbox`` is where a job's steps run when not on the host: ``Box`` (a
podman job container, through runtime.podman_exec) or ``KubePod``
(``ci.kube_executor``, a job as a Pod under ``--executor kubernetes``).

A job with a container (or any job under ``--executor podman``, using the
runner image) gets a private network, its services on it (reachable by their
ids), and a long-running job container in which every ``run`` step is
``podman exec``-ed. The run directory is mounted at the same path, so
``GITHUB_WORKSPACE``, ``GITHUB_OUTPUT`` and friends mean the same inside and
out. A host job with services reaches them on published localhost ports.
Services with a health check (``--health-cmd`` in ``options``, or the image's
HEALTHCHECK) are waited for before the first step (``ci.services``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shipway.ci.exec.health import wait_podman
from shipway.ci.expr.template import render_deep
from shipway.ci.expr.values import from_json_value, to_str
from shipway.ci.nodejs import NODE_MOUNT, host_node_dir
from shipway.model.errors import CIError, InputError
from shipway.runtime import host, podman_env
from shipway.runtime.podman_exec import KEEPALIVE, Podman
from shipway.settings import load as load_settings

if TYPE_CHECKING:
    from shipway.ci.job import JobRun


class Sandbox(Protocol):
    """Where a job's steps run: ``cid`` names it (``None``: steps run on the host; only
    services live in it), ``path`` is its PATH, ``exec`` runs one step process streamed."""

    cid: str | None
    network: str | None
    services: dict[str, Any]
    path: str

    def which(self, program: str) -> bool: ...

    def exec(self, argv: list[str], cwd: str, env: dict[str, str],
             on_line: Callable[[str], None], timeout: float,
             cancel: host.Cancel) -> host.Result: ...  # fmt: skip


@dataclass
class Box:
    """The podman sandbox: a network, services, a job container steps are exec-ed in."""

    podman: Podman
    cid: str | None = None  # the job container
    path: str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    has_bash: bool = False
    network: str | None = None
    services: dict[str, Any] = field(default_factory=dict)
    host_cwd: Path = field(default_factory=Path.cwd)  # where the podman client runs

    def which(self, program: str) -> bool:
        return program == "sh" or (program == "bash" and self.has_bash)

    def exec(self, argv: list[str], cwd: str, env: dict[str, str],
             on_line: Callable[[str], None], timeout: float,
             cancel: host.Cancel) -> host.Result:  # fmt: skip
        """``podman exec`` as a host process (raises ``OSError`` when it cannot start)."""
        assert self.cid is not None
        full = self.podman.exec_argv(self.cid, argv, env, cwd)
        return host.run(full, cwd=self.host_cwd, env=self.podman.host_env, on_line=on_line,
                        timeout=timeout, cancel=cancel)  # fmt: skip


def podman_environment(job: JobRun) -> dict[str, str]:
    info = job.rs.info
    if info.podman_env is not None:
        return dict(info.podman_env)
    insecure = [r for r in os.environ.get("SHIPWAY_INSECURE_REGISTRIES", "").split(",") if r]
    return podman_env.podman_env(load_settings().home / "podman", insecure)


def _spec(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"image": value}
    return dict(value or {})


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [to_str(from_json_value(v)) for v in value]
    return [to_str(from_json_value(value))]


def _volume(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    return (
        parts[0],
        parts[1] if len(parts) > 1 else parts[0],
        parts[2] if len(parts) > 2 else "rw",
    )


def _options(value: Any) -> list[str]:
    import shlex

    return shlex.split(to_str(value)) if value else []


SELF_HOSTED = "-self-hosted"  # a platform that runs on the host, as in act's -P


def runner_image(job: JobRun) -> str:
    """The image a job without ``container:`` runs in; empty means on the host.

    A ``runs-on`` label mapped by ``--platform LABEL=IMAGE`` (or
    ``SHIPWAY_CI_PLATFORMS``) picks the image on any executor; otherwise the
    podman and kubernetes executors use the runner image (``SHIPWAY_CI_IMAGE``); podman
    builds its own (``ci.runner_image``) when none is set.
    """
    info = job.rs.info
    platforms = {**parse_platforms(os.environ.get("SHIPWAY_CI_PLATFORMS", "")), **info.platforms}
    for label in runs_on_labels(render_deep(job.job.runs_on, job.scope())):
        if label in platforms:
            return "" if platforms[label] == SELF_HOSTED else platforms[label]
    if info.executor not in ("podman", "kubernetes"):
        return ""
    image = info.runner_image or os.environ.get("SHIPWAY_CI_IMAGE", "")
    if not image and info.executor == "podman":  # built here, as the demo builds its base
        from shipway.ci import runner_image as built

        return built.ensure(podman_environment(job), info.base_dir.parent)
    if not image:
        raise InputError(
            f"the {info.executor} executor needs an image: give the job a 'container:', "
            "map its runs-on label with --platform LABEL=IMAGE, or set SHIPWAY_CI_IMAGE",
            subject=job.job.where,
        )
    return image


def runs_on_labels(value: Any) -> list[str]:
    """The labels of a rendered ``runs-on``: a string, a list, or ``{group, labels}``."""
    if isinstance(value, dict):
        value = value.get("labels") or []
    if isinstance(value, list):
        return [to_str(from_json_value(v)) for v in value]
    return [to_str(from_json_value(value))] if value is not None else []


def unsupported_label(labels: list[str], platforms: dict[str, str]) -> str | None:
    """The first ``windows-*``/``macos-*`` label, unless ``-P`` maps one of ``labels``."""
    mapped = {**parse_platforms(os.environ.get("SHIPWAY_CI_PLATFORMS", "")), **platforms}
    if any(label in mapped for label in labels):
        return None
    for label in labels:
        if label.lower().split("-")[0] in ("windows", "macos", "osx"):
            return label
    return None


def parse_platforms(text: str) -> dict[str, str]:
    """``label=image,label2=-self-hosted`` (``SHIPWAY_CI_PLATFORMS``) as a mapping."""
    pairs = [p.split("=", 1) for p in text.split(",") if "=" in p]
    return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}


@contextmanager
def session(job: JobRun) -> Iterator[Sandbox | None]:
    """Start what the job needs (network, services, job container, or its Pod); remove it
    all after."""
    scope = job.scope()
    spec = _spec(render_deep(job.job.container, scope)) if job.job.container else {}
    services = {k: _spec(v) for k, v in render_deep(job.job.services, scope).items()}
    info = job.rs.info
    image = str(spec.get("image") or "") or runner_image(job)
    if info.executor == "kubernetes" and image:
        from shipway.ci.kube_executor import pod_session

        with pod_session(job, image, spec, services) as pod:
            yield pod
        return
    if not image and not services:
        yield None
        return
    box = Box(Podman(podman_environment(job), f"shipway-ci-{info.run_id}-{job.key}"),
              host_cwd=job.workspace)  # fmt: skip
    try:
        if image:
            box.network = box.podman.network()
        for sid, sspec in services.items():
            _service(job, box, sid, sspec)
        if image:
            _job_container(job, box, image, spec)
        wait_podman(job, box.podman, {sid: s["id"] for sid, s in box.services.items()})
        yield box
    finally:
        box.podman.close()


def _service(job: JobRun, box: Box, sid: str, spec: dict[str, Any]) -> None:
    image = str(spec.get("image") or "")
    if not image:
        raise InputError(f"service {sid!r} has no image", subject=job.job.where)
    box.podman.pull(image, spec.get("credentials"))
    ports = _list(spec.get("ports"))
    env = {str(k): to_str(from_json_value(v)) for k, v in (spec.get("env") or {}).items()}
    volumes = [_volume(v) for v in _list(spec.get("volumes"))]
    job.log(f"Starting service {sid} ({image})")
    name = f"svc-{sid}"
    cid = box.podman.start(name, image, env=env, network=box.network, alias=sid,
                           ports=[] if box.network else ports, mounts=volumes,
                           options=_options(spec.get("options")))  # fmt: skip
    mapped: dict[str, str] = {}
    if not box.network:
        for port in ports:
            inner = port.split(":")[-1]
            mapped[inner.split("/")[0]] = box.podman.port(f"{box.podman.prefix}-{name}", inner)
    box.services[sid] = {"id": cid, "network": box.network or "", "ports": mapped}


def _job_container(job: JobRun, box: Box, image: str, spec: dict[str, Any]) -> None:
    info = job.rs.info
    box.podman.pull(image, spec.get("credentials"))
    base = str(info.base_dir.resolve())
    mounts: list[tuple[str, str, str]] = [(base, base, "rw")]
    for extra in (info.action_cache, info.artifacts):
        if extra is not None and extra.is_dir() and not str(extra.resolve()).startswith(base):
            mounts.append((str(extra.resolve()), str(extra.resolve()), "rw"))
    node = host_node_dir()  # for JavaScript actions when the image has no node (ci.nodejs)
    if node:
        mounts.append((node, NODE_MOUNT, "ro"))
    mounts += [_volume(v) for v in _list(spec.get("volumes"))]
    env = {str(k): to_str(from_json_value(v)) for k, v in (spec.get("env") or {}).items()}
    job.log(f"Starting job container ({image})")
    box.cid = box.podman.start("job", image, command=KEEPALIVE[1:], entrypoint=KEEPALIVE[0],
                               env=env, mounts=mounts, network=box.network,
                               ports=_list(spec.get("ports")), workdir=str(job.workspace),
                               options=_options(spec.get("options")))  # fmt: skip
    box.path = box.podman.printenv(box.cid, "PATH") or box.path
    box.has_bash = box.podman.has(box.cid, "bash")
    if not box.podman.has(box.cid, "tail"):
        raise CIError(f"image {image} has no 'tail' to keep the job container running")
