"""Core-group kinds: Pod, Service, PersistentVolumeClaim (Argo CD's semantics). Pure.

A Pod with ``restartPolicy: Always`` is a long-running workload: a container
waiting with an ``Err*``, ``*Error`` or ``*BackOff`` reason makes it Degraded.
Pods with ``OnFailure``/``Never`` are run-to-completion (usually hooks): they
stay Progressing while they run and are judged by their phase, so an image
pull that later succeeds does not fail a hook early. The annotation
``argocd.argoproj.io/ignore-restart-policy: "true"`` makes a non-hook pod be
judged as long-running. A ``v1`` Service is Healthy unless it is a
LoadBalancer without an address; a ``serving.knative.dev`` Service is not
a core Service and is not judged here.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    UNKNOWN,
    Obj,
    Result,
    annots,
    is_hook,
    items,
    mapping,
    num,
    spec,
    status,
    text,
)

IGNORE_RESTART_POLICY = "argocd.argoproj.io/ignore-restart-policy"


def _bad_waiting(reason: str) -> bool:
    return reason.startswith("Err") or reason.endswith("Error") or reason.endswith("BackOff")


def _failure(cs: Obj) -> str:
    term = mapping(mapping(cs.get("state")).get("terminated"))
    if not term:
        return ""
    if term.get("message"):
        return text(term["message"])
    if term.get("reason") == "OOMKilled":
        return "OOMKilled"
    code = num(term.get("exitCode"))
    return f"container {text(cs.get('name'))!r} exited with code {code}" if code else ""


def _ready(st: Obj) -> bool:
    cond = next((c for c in items(st.get("conditions")) if c.get("type") == "Ready"), None)
    if cond is not None:
        return text(cond.get("status")) == "True"
    statuses = items(st.get("containerStatuses"))  # live objects without conditions (podman)
    return bool(statuses) and all(cs.get("ready") is True for cs in statuses)


def pod(obj: Obj) -> Result:
    st = status(obj)
    policy = text(spec(obj).get("restartPolicy")) or "Always"  # the API server's default
    ignore = text(annots(obj).get(IGNORE_RESTART_POLICY)) == "true" and not is_hook(obj)
    long_running = policy == "Always" or ignore
    message = text(st.get("message"))
    if long_running:
        bad = []
        for cs in items(st.get("containerStatuses")):
            waiting = mapping(mapping(cs.get("state")).get("waiting"))
            reason = text(waiting.get("reason"))
            if waiting and _bad_waiting(reason):
                bad.append(text(waiting.get("message")) or reason)
        if bad:
            return DEGRADED, ", ".join(bad)
    phase = text(st.get("phase"))
    if phase == "Pending":
        return PROGRESSING, message
    if phase == "Succeeded":
        return HEALTHY, message
    if phase == "Failed":
        if message:
            return DEGRADED, message
        every = [*items(st.get("initContainerStatuses")), *items(st.get("containerStatuses"))]
        return DEGRADED, next((m for m in map(_failure, every) if m), "")
    if phase == "Running":
        if not long_running:
            return PROGRESSING, message
        if _ready(st):
            return HEALTHY, message
        for cs in items(st.get("containerStatuses")):
            if mapping(mapping(cs.get("lastState")).get("terminated")):
                return DEGRADED, message or f"container {text(cs.get('name'))!r} restarted"
        return PROGRESSING, message
    return UNKNOWN, message


def service(obj: Obj) -> Result:
    if text(spec(obj).get("type")) == "LoadBalancer":
        ingress = items(mapping(status(obj).get("loadBalancer")).get("ingress"))
        if not ingress:
            return PROGRESSING, "waiting for the load balancer to get an address"
    return HEALTHY, ""


def pvc(obj: Obj) -> Result:
    phase = text(status(obj).get("phase"))
    if phase == "Bound":
        return HEALTHY, ""
    if phase == "Pending":
        return PROGRESSING, "waiting for the claim to be bound"
    if phase == "Lost":
        return DEGRADED, "the claim lost its volume"
    return UNKNOWN, f"unknown phase {phase!r}" if phase else ""


CHECKS = {
    ("", "Pod"): pod,
    ("", "Service"): service,
    ("", "PersistentVolumeClaim"): pvc,
}
