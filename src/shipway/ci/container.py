"""GitHub Actions' ``container:``, ``services:`` and ``runs-on`` as a ``ci.exec`` session.

Translates a job into a ``ci.exec.base.SessionSpec`` and opens it on the
executor the run asks for (``ci.exec``: host, podman, kubernetes); this module
imports ``ci.exec.base`` only. A job with a container (or any job under
``--executor podman``, using the runner image) gets a private network, its
services on it (reachable by their ids), and a long-running job container in
which every ``run`` step is exec-ed. The run directory is mounted at the same
path, so ``GITHUB_WORKSPACE``, ``GITHUB_OUTPUT`` and friends mean the same
inside and out. A host job with services reaches them on published localhost
ports. Services with a health check are waited for before the first step.
Under ``--executor kubernetes`` the job is a Pod (``ci.exec.kubernetes``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from shipway.ci.exec.base import (
    Credentials,
    ExecutorConfig,
    Mount,
    Service,
    Session,
    SessionSpec,
    open_session,
)
from shipway.ci.expr.template import render_deep
from shipway.ci.expr.values import from_json_value, to_str
from shipway.ci.nodejs import NODE_MOUNT, host_node_dir
from shipway.model.errors import InputError
from shipway.runtime import podman_env
from shipway.settings import load as load_settings

if TYPE_CHECKING:
    from shipway.ci.job import JobRun


def podman_environment(job: JobRun) -> dict[str, str]:
    info = job.rs.info
    if info.podman_env is not None:
        return dict(info.podman_env)
    return podman_env.for_home(load_settings().home)


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


def _creds(value: Any) -> Credentials | None:
    if not isinstance(value, dict) or not value.get("username"):
        return None
    return Credentials(to_str(from_json_value(value.get("username", ""))),
                       to_str(from_json_value(value.get("password", ""))))  # fmt: skip


def _env(value: Any) -> dict[str, str]:
    return {str(k): to_str(from_json_value(v)) for k, v in (value or {}).items()}


def _service(sid: str, spec: dict[str, Any]) -> Service:
    return Service(name=sid, image=str(spec.get("image") or ""), aliases=(sid,),
                   env=_env(spec.get("env")), ports=tuple(_list(spec.get("ports"))),
                   volumes=tuple(_list(spec.get("volumes"))),
                   options=to_str(from_json_value(spec.get("options") or "")),
                   credentials=_creds(spec.get("credentials")))  # fmt: skip


def _mounts(job: JobRun, executor: str, image: str) -> list[Mount]:
    """The run directory at the same path (and the action cache, artifacts, and the host's
    node for JavaScript actions when there is a job container)."""
    info = job.rs.info
    same = str(info.base_dir.resolve()) if executor != "kubernetes" else None
    base = info.base_dir.resolve()
    mounts = [Mount(str(base), same or os.path.abspath(info.base_dir))]
    for extra in (info.action_cache, info.artifacts):
        if extra is not None and extra.is_dir() and not extra.resolve().is_relative_to(base):
            target = str(extra.resolve()) if same else os.path.abspath(extra)
            mounts.append(Mount(str(extra.resolve()), target))
    node = host_node_dir() if image else None  # for JavaScript actions (ci.nodejs)
    if node:
        mounts.append(Mount(node, NODE_MOUNT, read_only=True))
    return mounts


def executor_of(job: JobRun, image: str) -> str:
    """The executor a job's session opens on: Kubernetes needs an image, podman runs one."""
    if job.rs.info.executor == "kubernetes" and image:
        return "kubernetes"
    return "podman" if image else "host"


@contextmanager
def session(job: JobRun) -> Iterator[Session]:
    """Open the job's session (network, services, job container, or its Pod) through
    ``ci.exec``; everything it made is removed after."""
    scope = job.scope()
    spec = _spec(render_deep(job.job.container, scope)) if job.job.container else {}
    services = {k: _spec(v) for k, v in render_deep(job.job.services, scope).items()}
    info = job.rs.info
    image = str(spec.get("image") or "") or runner_image(job)
    name = executor_of(job, image)
    sspec = SessionSpec(
        run_id=info.run_id, job=job.key, mounts=_mounts(job, name, image),
        scratch=str(job.files), workdir=os.path.abspath(job.workspace), image=image or None,
        image_env=_env(spec.get("env")), image_ports=tuple(_list(spec.get("ports"))),
        image_volumes=tuple(_list(spec.get("volumes"))),
        image_options=to_str(from_json_value(spec.get("options") or "")),
        image_credentials=_creds(spec.get("credentials")),
        services=[_service(sid, s) for sid, s in services.items()],
        labels={"shipway.dev/ci-job": job.job.id}, timeout=job.remaining(),
        where=job.job.where, log=job.log, cancel=job.cancel,
    )  # fmt: skip
    config = ExecutorConfig(podman_env=_LazyEnv(job), kube=_kube(info.kube))
    with open_session(name, sspec, config) as opened:
        yield opened


def _kube(kube: dict[str, Any]) -> dict[str, Any]:
    return dict(kube or {})


class _LazyEnv(Mapping[str, str]):
    """The podman environment, written only when a session first calls podman."""

    def __init__(self, job: JobRun) -> None:
        self.job = job
        self.env: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self.env is None:
            self.env = podman_environment(self.job)
        return self.env

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())
