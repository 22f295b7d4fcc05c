"""Health per kind with Argo CD's names, and the aggregate's severity order."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.deploy import health


def _obj(
    kind: str,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    generation: int | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x"}
    if generation is not None:
        meta["generation"] = generation
    return {"kind": kind, "metadata": meta, "spec": spec or {}, "status": status or {}}


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        (
            _obj(
                "Deployment",
                {"replicas": 1},
                {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
            ),
            "Healthy",
        ),
        (
            _obj(
                "Deployment",
                {"replicas": 2},
                {"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1},
            ),
            "Progressing",
        ),
        (_obj("Deployment", {"paused": True}), "Suspended"),
        (_obj("Deployment", {}, {"observedGeneration": 1}, generation=2), "Progressing"),
        (
            _obj(
                "Deployment",
                {},
                {"conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]},
            ),
            "Degraded",
        ),
        (_obj("Pod", {}, {"phase": "Running", "containerStatuses": [{"ready": True}]}), "Healthy"),
        (
            _obj(
                "Pod",
                {},
                {
                    "phase": "Running",
                    "containerStatuses": [
                        {"ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                    ],
                },
            ),
            "Degraded",
        ),
        (_obj("Pod", {}, {"phase": "Pending"}), "Progressing"),
        (_obj("Pod", {}, {"phase": "Failed"}), "Degraded"),
        (_obj("Service", {"type": "ClusterIP"}), "Healthy"),
        (_obj("Service", {"type": "LoadBalancer"}), "Progressing"),
        (
            _obj("Service", {"type": "LoadBalancer"}, {"loadBalancer": {"ingress": [{"ip": "1"}]}}),
            "Healthy",
        ),
        (_obj("PersistentVolumeClaim", {}, {"phase": "Bound"}), "Healthy"),
        (_obj("PersistentVolumeClaim", {}, {"phase": "Lost"}), "Degraded"),
        (_obj("Job", {}, {"conditions": [{"type": "Complete", "status": "True"}]}), "Healthy"),
        (_obj("Job", {}, {"conditions": [{"type": "Failed", "status": "True"}]}), "Degraded"),
        (
            _obj(
                "StatefulSet",
                {"replicas": 1},
                {"readyReplicas": 1, "currentRevision": "a", "updateRevision": "a"},
            ),
            "Healthy",
        ),
        (
            _obj(
                "DaemonSet",
                {},
                {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 1},
            ),
            "Progressing",
        ),
    ],
)
def test_kinds(obj: dict[str, Any], want: str) -> None:
    found = health.of(obj)
    assert found is not None and found[0] == want


def test_no_health_missing_and_aggregate_order() -> None:
    assert health.of(_obj("ConfigMap")) is None
    assert health.of(None) == ("Missing", "object does not exist")
    assert health.aggregate([None, "Healthy", "Progressing", "Suspended"]) == "Progressing"
    assert health.aggregate(["Missing", "Degraded", "Healthy"]) == "Degraded"
    assert health.aggregate([]) == "Healthy"
    assert health.ORDER == ("Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown")


def test_custom_check_plugin() -> None:
    before = health.checks()
    try:
        health.register(
            "Widget", lambda o: ("Degraded", "broken") if o["spec"].get("bad") else None
        )
        assert health.of(_obj("Widget", {"bad": True})) == ("Degraded", "broken")
        assert health.of(_obj("Widget")) is None
    finally:
        health._CHECKS.clear()
        health._CHECKS.update(before)
