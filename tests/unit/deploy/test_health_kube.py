"""Built-in checks of Kubernetes kinds, with Argo CD's verdicts, from live objects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from healthobjs import cond, conds, obj

from shipway.deploy import health

H, P, D, S, U = "Healthy", "Progressing", "Degraded", "Suspended", "Unknown"


def verdict(o: dict[str, Any]) -> str:
    found = health.of(o)
    assert found is not None
    return found[0]


def dep(spec: dict[str, Any], status: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return obj("apps/v1", "Deployment", spec, status, **kw)


@pytest.mark.parametrize(
    ("o", "want"),
    [
        (dep({"replicas": 2}, {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}), H),
        (dep({"replicas": 2}, {"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1}), P),
        (dep({"replicas": 1}, {"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1}), P),
        (dep({"replicas": 1}, {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}), P),
        (dep({"paused": True}, {}), S),
        (dep({}, {"observedGeneration": 1}, generation=2), P),
        (
            dep(
                {"replicas": 1},
                conds(cond("Progressing", "False", "ProgressDeadlineExceeded"), replicas=1),
            ),
            D,
        ),
    ],
)
def test_deployment(o: dict[str, Any], want: str) -> None:
    assert verdict(o) == want


def test_replicaset() -> None:
    rs = obj("apps/v1", "ReplicaSet", {"replicas": 2}, {"availableReplicas": 2})
    assert verdict(rs) == H
    rs["status"]["availableReplicas"] = 1
    assert verdict(rs) == P
    rs["status"]["conditions"] = [cond("ReplicaFailure", "True", "FailedCreate", "quota")]
    assert health.of(rs) == (D, "quota")


def sts(spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return obj("apps/v1", "StatefulSet", spec, {"observedGeneration": 3, **status}, generation=3)


def test_statefulset_rolling_update_and_revisions() -> None:
    done = {"readyReplicas": 3, "currentRevision": "a", "updateRevision": "a", "updatedReplicas": 3}
    assert verdict(sts({"replicas": 3}, done)) == H
    assert verdict(sts({"replicas": 3}, {**done, "updateRevision": "b"})) == P
    assert verdict(sts({"replicas": 3}, {**done, "readyReplicas": 2})) == P
    unobserved = obj("apps/v1", "StatefulSet", {"replicas": 1}, {"readyReplicas": 1}, generation=1)
    assert verdict(unobserved) == P  # no observedGeneration yet


def test_statefulset_partition() -> None:
    spec = {"replicas": 5, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {}}}
    spec["updateStrategy"]["rollingUpdate"]["partition"] = 3
    status = {"readyReplicas": 5, "currentRevision": "a", "updateRevision": "b"}
    # only the 2 pods at or above the partition roll: 1 of them updated is still progressing
    assert verdict(sts(spec, {**status, "updatedReplicas": 1})) == P
    found = health.of(sts(spec, {**status, "updatedReplicas": 2}))
    assert found is not None and found[0] == H  # revisions differ, but the partition is done


def test_statefulset_ondelete_is_healthy_once_ready() -> None:
    spec = {"replicas": 2, "updateStrategy": {"type": "OnDelete"}}
    status = {"readyReplicas": 2, "currentRevision": "a", "updateRevision": "b"}
    assert verdict(sts(spec, status)) == H


def test_daemonset() -> None:
    st = {"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}
    assert verdict(obj("apps/v1", "DaemonSet", {}, st)) == H
    assert verdict(obj("apps/v1", "DaemonSet", {}, {**st, "numberAvailable": 2})) == P
    assert verdict(obj("apps/v1", "DaemonSet", {}, {**st, "updatedNumberScheduled": 1})) == P
    ondelete = {"updateStrategy": {"type": "OnDelete"}}
    assert verdict(obj("apps/v1", "DaemonSet", ondelete, {**st, "updatedNumberScheduled": 1})) == H
    lag = obj("apps/v1", "DaemonSet", ondelete, {**st, "observedGeneration": 1}, generation=2)
    assert verdict(lag) == P


def pod(status: dict[str, Any], policy: str | None = None, **kw: Any) -> dict[str, Any]:
    spec = {"restartPolicy": policy} if policy else {}
    return obj("v1", "Pod", spec, status, **kw)


RUNNING_READY = {
    "phase": "Running",
    "conditions": [cond("Ready", "True")],
    "containerStatuses": [{"name": "app", "ready": True, "state": {"running": {}}}],
}
IMAGE_PULL = {
    "phase": "Pending",
    "containerStatuses": [
        {
            "name": "app",
            "ready": False,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}},
        }
    ],
}


def test_pod_long_running() -> None:
    assert verdict(pod(RUNNING_READY)) == H
    assert health.of(pod(IMAGE_PULL)) == (D, "no such image")
    crashed = {
        "phase": "Running",
        "conditions": [cond("Ready", "False")],
        "containerStatuses": [
            {"name": "app", "ready": False, "lastState": {"terminated": {"exitCode": 1}}}
        ],
    }
    assert verdict(pod(crashed)) == D
    starting = {"phase": "Running", "conditions": [cond("Ready", "False")]}
    assert verdict(pod(starting)) == P
    assert verdict(pod({"phase": "Pending"})) == P
    assert verdict(pod({"phase": "Succeeded"})) == H


def test_hook_pods_are_not_failed_early() -> None:
    """restartPolicy Never/OnFailure: an image pull error is Progressing, not Degraded."""
    assert verdict(pod(IMAGE_PULL, "Never")) == P
    assert verdict(pod(RUNNING_READY, "OnFailure")) == P  # still running to completion
    assert verdict(pod({"phase": "Succeeded"}, "Never")) == H
    failed = {
        "phase": "Failed",
        "containerStatuses": [{"name": "job", "state": {"terminated": {"exitCode": 3}}}],
    }
    assert health.of(pod(failed, "Never")) == (D, "container 'job' exited with code 3")
    oom = {
        "phase": "Failed",
        "containerStatuses": [{"state": {"terminated": {"reason": "OOMKilled"}}}],
    }
    assert health.of(pod(oom, "Never")) == (D, "OOMKilled")


def test_ignore_restart_policy_annotation_but_not_on_hooks() -> None:
    ann = {"argocd.argoproj.io/ignore-restart-policy": "true"}
    assert verdict(pod(RUNNING_READY, "Never", annotations=ann)) == H
    assert verdict(pod(IMAGE_PULL, "Never", annotations=ann)) == D
    hook = {**ann, "argocd.argoproj.io/hook": "PreSync"}
    assert verdict(pod(IMAGE_PULL, "Never", annotations=hook)) == P


def test_service_is_core_only() -> None:
    assert verdict(obj("v1", "Service", {"type": "ClusterIP"})) == H
    assert verdict(obj("v1", "Service", {"type": "LoadBalancer"}, {})) == P
    lb = {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}
    assert verdict(obj("v1", "Service", {"type": "LoadBalancer"}, lb)) == H
    knative = obj("serving.knative.dev/v1", "Service", {}, {})
    assert health.of(knative) is None  # not a core Service: nothing judges it here
    knative["status"] = conds(cond("Ready", "False", "RevisionFailed", "bad image"))
    assert health.of(knative) == (D, "RevisionFailed: bad image")  # the generic rule


def test_ingress_pvc_apiservice() -> None:
    for api in ("networking.k8s.io/v1", "extensions/v1beta1"):
        assert verdict(obj(api, "Ingress", {}, {})) == P
        addr = {"loadBalancer": {"ingress": [{"hostname": "lb"}]}}
        assert verdict(obj(api, "Ingress", {}, addr)) == H
    for phase, want in (("Bound", H), ("Pending", P), ("Lost", D), ("Other", U)):
        assert verdict(obj("v1", "PersistentVolumeClaim", {}, {"phase": phase})) == want
    api = "apiregistration.k8s.io/v1"
    ok = conds(cond("Available", "True", "Passed", "all checks passed"))
    assert health.of(obj(api, "APIService", {}, ok)) == (H, "Passed: all checks passed")
    down = conds(cond("Available", "False", "FailedDiscoveryCheck", "503"))
    assert health.of(obj(api, "APIService", {}, down)) == (P, "FailedDiscoveryCheck: 503")
    assert verdict(obj(api, "APIService", {}, {})) == P


def test_hpa_v2_conditions() -> None:
    api = "autoscaling/v2"
    ok = conds(cond("AbleToScale", "True", "ReadyForNewScale", "fine"))
    assert health.of(obj(api, "HorizontalPodAutoscaler", {}, ok)) == (H, "fine")
    broken = conds(
        cond("AbleToScale", "True", "SucceededGetScale"),
        cond("ScalingActive", "False", "FailedGetResourceMetric", "no metrics"),
    )
    assert health.of(obj(api, "HorizontalPodAutoscaler", {}, broken)) == (D, "no metrics")
    assert verdict(obj(api, "HorizontalPodAutoscaler", {}, {})) == P


def test_hpa_v1_conditions_in_the_annotation() -> None:
    api = "autoscaling/v1"
    listed = [cond("AbleToScale", "False", "FailedGetScale", "no such deployment")]
    ann = {"autoscaling.alpha.kubernetes.io/conditions": json.dumps(listed)}
    bad = obj(api, "HorizontalPodAutoscaler", {}, {}, annotations=ann)
    assert health.of(bad) == (D, "no such deployment")
    listed = [cond("ScalingLimited", "True", "TooFewReplicas", "at minimum")]
    ann = {"autoscaling.alpha.kubernetes.io/conditions": json.dumps(listed)}
    ok = obj(api, "HorizontalPodAutoscaler", {}, {}, annotations=ann)
    assert health.of(ok) == (H, "at minimum")
    assert verdict(obj(api, "HorizontalPodAutoscaler", {}, {})) == P
    ann = {"autoscaling.alpha.kubernetes.io/conditions": "{not json"}
    assert verdict(obj(api, "HorizontalPodAutoscaler", {}, {}, annotations=ann)) == U


def test_pdb() -> None:
    api = "policy/v1"
    ok = conds(cond("DisruptionAllowed", "True", "SufficientPods"))
    assert health.of(obj(api, "PodDisruptionBudget", {}, ok)) == (
        H,
        "PodDisruptionBudget has SufficientPods",
    )
    few = conds(cond("DisruptionAllowed", "False", "InsufficientPods"))
    assert verdict(obj(api, "PodDisruptionBudget", {}, few)) == H
    sync = conds(cond("DisruptionAllowed", "False", "SyncFailed"))
    assert verdict(obj(api, "PodDisruptionBudget", {}, sync)) == D
    assert verdict(obj(api, "PodDisruptionBudget", {}, {})) == P


def test_job() -> None:
    job = obj("batch/v1", "Job", {}, conds(cond("Complete", "True", message="done")))
    assert health.of(job) == (H, "done")
    failed = conds(cond("Failed", "True", "BackoffLimitExceeded", "too many retries"))
    assert health.of(obj("batch/v1", "Job", {}, failed)) == (D, "too many retries")
    assert verdict(obj("batch/v1", "Job", {}, {"active": 1})) == P
    assert verdict(obj("batch/v1", "Job", {"suspend": True}, {})) == S
    resumed = conds(cond("Suspended", "False", "JobResumed"), active=1)
    assert verdict(obj("batch/v1", "Job", {}, resumed)) == P


def test_cronjob() -> None:
    api = "batch/v1"
    ok = {"lastScheduleTime": "2026-01-01T10:00:00Z", "lastSuccessfulTime": "2026-01-01T10:00:30Z"}
    assert verdict(obj(api, "CronJob", {}, ok)) == H
    failed = {**ok, "lastSuccessfulTime": "2026-01-01T09:00:30Z"}
    assert verdict(obj(api, "CronJob", {}, failed)) == D
    running = {**failed, "active": [{"name": "x-123"}]}
    assert verdict(obj(api, "CronJob", {}, running)) == H
    assert verdict(obj(api, "CronJob", {}, {})) == H  # never scheduled yet
    assert health.of(obj(api, "CronJob", {"suspend": True}, failed)) == (H, "CronJob is suspended")
    assert verdict(obj(api, "CronJob", {})) == P  # no status at all yet


def test_pending_deletion_wins_except_for_hook_finalizers() -> None:
    ready = dep({"replicas": 1}, {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1})
    ready["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert health.of(ready) == (P, "Pending deletion")
    cm = obj("v1", "ConfigMap", None, None, deletionTimestamp="2026-01-01T00:00:00Z")
    assert health.of(cm) == (P, "Pending deletion")  # any object, even one without a check
    hook = pod({"phase": "Succeeded"}, "Never", deletionTimestamp="2026-01-01T00:00:00Z")
    hook["metadata"]["finalizers"] = ["argocd.argoproj.io/hook-finalizer"]
    assert verdict(hook) == H


def test_kinds_without_checks_and_missing() -> None:
    assert health.of(obj("v1", "ConfigMap")) is None
    assert health.of(obj("rbac.authorization.k8s.io/v1", "Role")) is None
    assert health.of(None) == ("Missing", "object does not exist")


def test_malformed_fields_are_unknown_not_a_crash() -> None:
    weird = obj("apps/v1", "Deployment", {"replicas": "many"}, {"conditions": "nope"})
    assert verdict(weird) in (H, P)  # unreadable fields read as absent
    assert verdict({"apiVersion": "v1", "kind": "Pod", "status": []}) == U
