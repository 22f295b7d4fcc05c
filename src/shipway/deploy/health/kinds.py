"""Built-in health checks per kind, after Argo CD's (gitops-engine ``health``).

Each check takes a live object and returns ``(status, message)``. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Result = tuple[str, str] | None

_WAITING_BAD = {
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "InvalidImageName",
    "CreateContainerError",
}


def _status(obj: Obj) -> Obj:
    st = obj.get("status") or {}
    return st if isinstance(st, dict) else {}


def _spec(obj: Obj) -> Obj:
    sp = obj.get("spec") or {}
    return sp if isinstance(sp, dict) else {}


def _generation_lag(obj: Obj) -> bool:
    gen = (obj.get("metadata") or {}).get("generation")
    observed = _status(obj).get("observedGeneration")
    return gen is not None and observed is not None and int(observed) < int(gen)


def _condition(obj: Obj, ctype: str) -> Obj | None:
    for c in _status(obj).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def deployment(obj: Obj) -> Result:
    spec, st = _spec(obj), _status(obj)
    if spec.get("paused"):
        return "Suspended", "deployment is paused"
    if _generation_lag(obj):
        return "Progressing", "waiting for rollout to be observed"
    cond = _condition(obj, "Progressing")
    if cond and cond.get("reason") == "ProgressDeadlineExceeded":
        return "Degraded", f"deployment {obj['metadata']['name']!r} exceeded its progress deadline"
    want = int(spec.get("replicas", 1))
    updated = int(st.get("updatedReplicas") or 0)
    total = int(st.get("replicas") or 0)
    available = int(st.get("availableReplicas") or 0)
    if updated < want:
        return "Progressing", f"{updated} of {want} updated replicas are available"
    if total > updated:
        return "Progressing", f"{total - updated} old replicas are pending termination"
    if available < updated:
        return "Progressing", f"{available} of {updated} updated replicas are available"
    return "Healthy", ""


def statefulset(obj: Obj) -> Result:
    spec, st = _spec(obj), _status(obj)
    if _generation_lag(obj):
        return "Progressing", "waiting for statefulset spec update to be observed"
    want = int(spec.get("replicas", 1))
    ready = int(st.get("readyReplicas") or 0)
    if ready < want:
        return "Progressing", f"waiting for {want - ready} pods to be ready"
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "RollingUpdate" and st.get("updateRevision") != st.get("currentRevision"):
        return "Progressing", "waiting for rolling update to complete"
    return "Healthy", ""


def daemonset(obj: Obj) -> Result:
    st = _status(obj)
    if _generation_lag(obj):
        return "Progressing", "waiting for daemon set spec update to be observed"
    want = int(st.get("desiredNumberScheduled") or 0)
    if int(st.get("updatedNumberScheduled") or 0) < want:
        return "Progressing", "waiting for daemon set rollout to finish"
    if int(st.get("numberAvailable") or 0) < want:
        return "Progressing", "waiting for daemon set pods to be available"
    return "Healthy", ""


def replicaset(obj: Obj) -> Result:
    spec, st = _spec(obj), _status(obj)
    if _generation_lag(obj):
        return "Progressing", "waiting for rollout to be observed"
    cond = _condition(obj, "ReplicaFailure")
    if cond and cond.get("status") == "True":
        return "Degraded", str(cond.get("message", ""))
    want = int(spec.get("replicas", 1))
    if int(st.get("availableReplicas") or 0) < want:
        return "Progressing", "waiting for replicas to be available"
    return "Healthy", ""


def pod(obj: Obj) -> Result:
    st = _status(obj)
    phase = st.get("phase", "")
    for cs in st.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _WAITING_BAD:
            return "Degraded", str(waiting.get("message") or waiting["reason"])
    if phase == "Succeeded":
        return "Healthy", str(st.get("message", ""))
    if phase == "Failed":
        return "Degraded", str(st.get("message", "pod failed"))
    if phase == "Running":
        if _spec(obj).get("restartPolicy", "Always") == "Always":
            statuses = st.get("containerStatuses") or []
            if statuses and all(cs.get("ready") for cs in statuses):
                return "Healthy", ""
            return "Progressing", "waiting for containers to be ready"
        return "Progressing", ""
    return ("Progressing", str(st.get("message", ""))) if phase == "Pending" else ("Unknown", "")


def job(obj: Obj) -> Result:
    if _spec(obj).get("suspend"):
        return "Suspended", "job is suspended"
    for c in _status(obj).get("conditions") or []:
        if c.get("status") != "True":
            continue
        if c.get("type") == "Failed":
            return "Degraded", str(c.get("message", "job failed"))
        if c.get("type") == "Complete":
            return "Healthy", str(c.get("message", ""))
    return "Progressing", "job is running"


def _lb_ingress(obj: Obj) -> Result:
    ingress = (_status(obj).get("loadBalancer") or {}).get("ingress") or []
    return ("Healthy", "") if ingress else ("Progressing", "waiting for a load balancer address")


def service(obj: Obj) -> Result:
    if _spec(obj).get("type") == "LoadBalancer":
        return _lb_ingress(obj)
    return "Healthy", ""


def ingress(obj: Obj) -> Result:
    return _lb_ingress(obj)


def pvc(obj: Obj) -> Result:
    phase = _status(obj).get("phase")
    if phase == "Bound":
        return "Healthy", ""
    if phase == "Pending":
        return "Progressing", "waiting for the claim to be bound"
    if phase == "Lost":
        return "Degraded", "the claim lost its volume"
    return "Unknown", ""


def hpa(obj: Obj) -> Result:
    for c in _status(obj).get("conditions") or []:
        if c.get("type") == "ScalingActive" and c.get("status") == "False":
            if c.get("reason") == "ScalingDisabled":
                return "Healthy", str(c.get("message", ""))
            return "Degraded", str(c.get("message", ""))
        if c.get("type") == "AbleToScale" and c.get("status") == "False":
            return "Degraded", str(c.get("message", ""))
    return ("Healthy", "") if _status(obj) else ("Progressing", "waiting for metrics")


CHECKS: dict[str, Callable[[Obj], Result]] = {
    "Deployment": deployment,
    "StatefulSet": statefulset,
    "DaemonSet": daemonset,
    "ReplicaSet": replicaset,
    "Pod": pod,
    "Job": job,
    "Service": service,
    "Ingress": ingress,
    "PersistentVolumeClaim": pvc,
    "HorizontalPodAutoscaler": hpa,
}
