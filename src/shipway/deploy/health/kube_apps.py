"""Workload controllers of the ``apps`` group: Deployment, ReplicaSet, StatefulSet, DaemonSet.

Argo CD's semantics (kubectl's rollout status): wait until the controller
has observed the generation, then for updated and available replicas; a
StatefulSet partition counts as rolled out once the pods above it are
updated, and ``OnDelete`` strategies are Healthy without a rollout. Pure.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    SUSPENDED,
    Obj,
    Result,
    condition,
    generation_pending,
    is_true,
    mapping,
    meta,
    num,
    spec,
    status,
    text,
)

_UNOBSERVED = "waiting for the controller to observe generation {}"


def _unobserved(obj: Obj) -> Result:
    return PROGRESSING, _UNOBSERVED.format(num(meta(obj).get("generation")))


def deployment(obj: Obj) -> Result:
    sp, st = spec(obj), status(obj)
    if sp.get("paused") is True:
        return SUSPENDED, "Deployment is paused"
    if generation_pending(obj):
        return _unobserved(obj)
    cond = condition(obj, "Progressing")
    if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
        msg = f"Deployment {text(meta(obj).get('name'))!r} exceeded its progress deadline"
        detail = text(cond.get("message"))
        return DEGRADED, f"{msg}: {detail}" if detail else msg
    want = num(sp.get("replicas"), 1)
    updated, total = num(st.get("updatedReplicas")), num(st.get("replicas"))
    available = num(st.get("availableReplicas"))
    if updated < want:
        return PROGRESSING, f"rollout: {updated} of {want} replicas updated"
    if total > updated:
        return PROGRESSING, f"rollout: {total - updated} old replicas still terminating"
    if available < updated:
        return PROGRESSING, f"rollout: {available} of {updated} updated replicas available"
    return HEALTHY, ""


def replicaset(obj: Obj) -> Result:
    if generation_pending(obj):
        return _unobserved(obj)
    cond = condition(obj, "ReplicaFailure")
    if cond is not None and is_true(cond):
        return DEGRADED, text(cond.get("message"))
    want = num(spec(obj).get("replicas"), 1)
    available = num(status(obj).get("availableReplicas"))
    if available < want:
        return PROGRESSING, f"rollout: {available} of {want} replicas available"
    return HEALTHY, ""


def statefulset(obj: Obj) -> Result:
    sp, st = spec(obj), status(obj)
    has_gen = meta(obj).get("generation") is not None
    if generation_pending(obj) or (has_gen and num(st.get("observedGeneration")) == 0):
        return _unobserved(obj)
    want = num(sp.get("replicas"), 1)
    ready, updated = num(st.get("readyReplicas")), num(st.get("updatedReplicas"))
    if ready < want:
        return PROGRESSING, f"{want - ready} of {want} pods not ready yet"
    strategy = mapping(sp.get("updateStrategy"))
    kind = text(strategy.get("type")) or "RollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if kind == "RollingUpdate" and isinstance(rolling, dict):
        if "partition" in rolling:
            target = want - num(rolling.get("partition"))
            if updated < target:
                return PROGRESSING, (
                    f"partitioned rollout: {updated} of {target} pods above the partition updated"
                )
        return HEALTHY, f"partitioned rollout done: {updated} pods updated"
    if kind == "OnDelete":
        return HEALTHY, f"{ready} pods ready (OnDelete: pods update when deleted)"
    revision = text(st.get("updateRevision"))
    if revision != text(st.get("currentRevision")):
        return PROGRESSING, f"rolling update: {updated} pods at revision {revision}"
    return HEALTHY, f"{num(st.get('currentReplicas'))} pods at revision {revision}"


def daemonset(obj: Obj) -> Result:
    st = status(obj)
    if generation_pending(obj):
        return _unobserved(obj)
    want = num(st.get("desiredNumberScheduled"))
    updated, available = num(st.get("updatedNumberScheduled")), num(st.get("numberAvailable"))
    if text(mapping(spec(obj).get("updateStrategy")).get("type")) == "OnDelete":
        return HEALTHY, f"{updated} of {want} pods updated (OnDelete: pods update when deleted)"
    if updated < want:
        return PROGRESSING, f"rollout: {updated} of {want} pods updated"
    if available < want:
        return PROGRESSING, f"rollout: {available} of {want} updated pods available"
    return HEALTHY, ""


CHECKS = {
    ("apps", "Deployment"): deployment,
    ("apps", "ReplicaSet"): replicaset,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
}
