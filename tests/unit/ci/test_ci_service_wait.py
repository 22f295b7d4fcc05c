"""Waiting for a Pod's service containers to be ready (``ci.exec.health.wait_kube``), on
stubbed Pod reads: what is logged, and a service that exits fails the job naming it."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from shipway.ci.exec.health import wait_kube
from shipway.ci.plan.svcopts import HealthCheck
from shipway.model.errors import CIError


class Pods:
    def __init__(self, *states: dict[str, Any]) -> None:
        self.states = list(states)

    def subject(self, name: str) -> str:
        return f"Pod/ns/{name}"

    def get(self, name: str) -> dict[str, Any]:
        statuses = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"status": {"containerStatuses": [{"name": k, **v} for k, v in statuses.items()]}}


def _job() -> Any:
    lines: list[str] = []
    return SimpleNamespace(log=lines.append, lines=lines,
                           cancel=SimpleNamespace(event=threading.Event()))  # fmt: skip


CHECK = HealthCheck("true", interval=1, timeout=1, retries=3)
RUNNING = {"state": {"running": {}}}


def test_waits_until_ready_and_logs_as_the_runner() -> None:
    job = _job()
    pods = Pods({"svc-db": {**RUNNING, "ready": False}}, {"svc-db": {**RUNNING, "ready": True}})
    wait_kube(job, pods, "p", {"db": ("svc-db", CHECK)})  # type: ignore[arg-type]
    assert job.lines == ["Waiting for all services to be ready",
                         "db service is starting, waiting for its readiness probe.",
                         "db service is healthy."]  # fmt: skip


def test_nothing_to_wait_for_logs_nothing() -> None:
    job = _job()
    wait_kube(job, Pods({}), "p", {})  # type: ignore[arg-type]
    assert job.lines == []


def test_a_service_that_exits_fails_naming_it() -> None:
    pods = Pods({"svc-db": {"state": {"terminated": {"exitCode": 3}}, "ready": False}})
    with pytest.raises(CIError) as err:
        wait_kube(_job(), pods, "p", {"db": ("svc-db", CHECK)})  # type: ignore[arg-type]
    assert err.value.message == "Failed to initialize, db service exited with code 3."
    assert err.value.subject == "Pod/ns/p"


def test_cancel_stops_the_wait() -> None:
    job = _job()
    job.cancel.event.set()
    with pytest.raises(CIError, match="cancelled"):
        wait_kube(job, Pods({"svc-db": {**RUNNING, "ready": False}}), "p",
                  {"db": ("svc-db", CHECK)})  # type: ignore[arg-type]  # fmt: skip
