"""Waiting for a job's services to be healthy before its first step, as GitHub's runner does.

A service whose container has a health check (``--health-cmd`` in its
``options``, or the image's HEALTHCHECK) is waited for: the job logs
"Waiting for all services to be ready", then each service's status, and
fails with "Failed to initialize, <id> service is unhealthy." when its check
fails ``--health-retries`` times in a row after ``--health-start-period``.
Services without a health check are not waited for.

On podman (``wait_podman``) shipway drives the checks itself with ``podman
healthcheck run`` every ``--health-interval`` (podman 4 schedules them with
systemd timers, which do not run everywhere); podman keeps the status and the
failing streak. On Kubernetes (``wait_kube``) the checks are readinessProbes
run by the kubelet; shipway waits for the containers' ``ready`` and gives up
once a probe could have failed ``retries`` times after the start period.
Touches only the containers it is given (through ``Podman`` and ``KubePods``).
Part of the executors (``ci.exec``): it knows no CI syntax; ``who`` is anything with
``log(line)`` and ``cancel.event`` (a ``SessionSpec``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from shipway.ci.plan.svcopts import HealthCheck
from shipway.model.errors import CIError
from shipway.runtime.host import Cancel

if TYPE_CHECKING:
    from shipway.cluster.kube_pods import KubePods
    from shipway.runtime.podman_exec import Podman

NS = 1e-9


class Waiter(Protocol):
    """Who waits: says what it does, and may be cancelled (a ``SessionSpec``)."""

    @property
    def cancel(self) -> Cancel: ...

    def log(self, line: str) -> None: ...


def _podman_check(podman: Podman, container: str) -> HealthCheck | None:
    """The container's health check as podman stores it (options or image), if any."""
    raw = podman.inspect(container, "{{json .Config.Healthcheck}}")
    try:
        cfg = json.loads(raw or "null")
    except ValueError:
        return None
    test = (cfg or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    cmd = test[1] if test[0] == "CMD-SHELL" and len(test) > 1 else " ".join(test[1:])
    return HealthCheck(cmd, interval=(cfg.get("Interval") or 30e9) * NS,
                       timeout=(cfg.get("Timeout") or 30e9) * NS,
                       retries=int(cfg.get("Retries") or 3),
                       start_period=(cfg.get("StartPeriod") or 0) * NS)  # fmt: skip


def wait_podman(job: Waiter, podman: Podman, containers: Mapping[str, str]) -> None:
    """Wait until every service (id -> container name) with a health check is healthy."""
    checks = {sid: c for sid, name in containers.items() if (c := _podman_check(podman, name))}
    if not checks:
        return
    job.log("Waiting for all services to be ready")
    start = time.monotonic()
    due = dict.fromkeys(checks, start)
    while due:
        sid = min(due, key=lambda s: due[s])
        if job.cancel.event.wait(max(0.0, due[sid] - time.monotonic())):
            raise CIError("cancelled while waiting for the services", subject=f"service {sid}")
        name, check = containers[sid], checks[sid]
        podman.healthcheck(name, check.timeout + 10)
        state = podman.inspect(name, "{{.State.Status}} {{.State.Health.Status}}").split()
        status = state[1] if len(state) > 1 else "none"
        if state and state[0] not in ("running", "created"):
            raise CIError(f"Failed to initialize, {sid} service is {state[0]}.",
                          subject=f"service {sid}")  # fmt: skip
        if status == "healthy":
            job.log(f"{sid} service is healthy.")
            del due[sid]
        elif status == "starting" and time.monotonic() - start > check.give_up_after() + 30:
            # checks that hang past their timeout leave podman's status "starting"
            raise CIError(f"Failed to initialize, {sid} service is unhealthy (no health check "
                          "passed in time).", subject=f"service {sid}")  # fmt: skip
        elif status == "starting":
            job.log(f"{sid} service is starting, waiting {check.interval:g} seconds before "
                    "checking again.")  # fmt: skip
            due[sid] = time.monotonic() + check.interval
        else:
            raise CIError(f"Failed to initialize, {sid} service is {status}.",
                          subject=f"service {sid}")  # fmt: skip


def _statuses(pod: Mapping[str, Any]) -> dict[str, Any]:
    return {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}


def wait_kube(job: Waiter, pods: KubePods, name: str,
              checks: Mapping[str, tuple[str, HealthCheck]]) -> None:  # fmt: skip
    """Wait until the Pod's containers with a readinessProbe are ready (``checks``: service
    id -> (container name, its check)); fail once one cannot have become healthy in time."""
    if not checks:
        return
    job.log("Waiting for all services to be ready")
    start = time.monotonic()
    left = dict(checks)
    said: set[str] = set()
    while left:
        statuses = _statuses(pods.get(name))
        for sid, (ctr, check) in list(left.items()):
            cs = statuses.get(ctr) or {}
            ended = (cs.get("state") or {}).get("terminated")
            if ended is not None:
                raise CIError(f"Failed to initialize, {sid} service exited with code "
                              f"{ended.get('exitCode')}.", subject=pods.subject(name))  # fmt: skip
            if cs.get("ready"):
                job.log(f"{sid} service is healthy.")
                del left[sid]
            elif time.monotonic() - start > check.give_up_after() + 5:
                raise CIError(f"Failed to initialize, {sid} service is unhealthy.",
                              subject=pods.subject(name))  # fmt: skip
            elif sid not in said:
                said.add(sid)
                job.log(f"{sid} service is starting, waiting for its readiness probe.")
        if left and job.cancel.event.wait(0.3):
            raise CIError("cancelled while waiting for the services", subject=pods.subject(name))
