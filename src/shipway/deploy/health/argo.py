"""Argo projects' kinds (``argoproj.io``): Rollout, AnalysisRun, Workflow. Pure.

A Rollout (Argo Rollouts) is Progressing until the controller has observed
its spec (and, with ``workloadRef``, the referenced workload's generation);
then the controller's own verdict in ``status.phase`` is used (``Paused`` is
Suspended) with ``status.message``. Rollouts older than v1.0 (no phase) are
judged from their conditions, pause state and replica counts. An AnalysisRun
and a Workflow are judged by ``status.phase``.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    ORDER,
    PROGRESSING,
    SUSPENDED,
    UNKNOWN,
    Obj,
    Result,
    annots,
    conditions,
    items,
    mapping,
    meta,
    num,
    spec,
    status,
    text,
)

WORKLOAD_GENERATION = "rollout.argoproj.io/workload-generation"


def _observed(obj: Obj) -> bool:
    st = status(obj)
    if not st:
        return False
    observed, gen = st.get("observedGeneration"), meta(obj).get("generation")
    # before v0.10 observedGeneration was a hash: such a rollout counts as observed
    if gen is not None and str(observed).isdigit() and num(observed) < num(gen):
        return False
    if spec(obj).get("workloadRef") is not None and WORKLOAD_GENERATION in annots(obj):
        want = text(annots(obj)[WORKLOAD_GENERATION])
        return want == text(st.get("workloadObservedGeneration"))
    return True


def _legacy(obj: Obj) -> Result:
    sp, st = spec(obj), status(obj)
    for c in conditions(obj):
        reason = text(c.get("reason"))
        if c.get("type") == "InvalidSpec" or (
            c.get("type") == "Progressing"
            and reason in ("RolloutAborted", "ProgressDeadlineExceeded")
        ):
            return DEGRADED, text(c.get("message")) or reason
    if items(st.get("pauseConditions")) or sp.get("paused") is True:
        return SUSPENDED, "Rollout is paused"
    pod_hash = st.get("currentPodHash")
    if pod_hash is None:
        return PROGRESSING, "waiting for the controller to report the rollout"
    want, updated = num(sp.get("replicas"), 1), num(st.get("updatedReplicas"))
    total, available = num(st.get("replicas")), num(st.get("availableReplicas"))
    if updated < want:
        return PROGRESSING, f"rollout: {updated} of {want} replicas updated"
    if available < updated:
        return PROGRESSING, f"rollout: {available} of {updated} updated replicas available"
    strategy = mapping(sp.get("strategy"))
    stable = st.get("stableRS") or mapping(st.get("canary")).get("stableRS") or ""
    if "blueGreen" in strategy:
        if mapping(st.get("blueGreen")).get("activeSelector") != pod_hash:
            return PROGRESSING, "waiting for the active service to switch to the new pods"
        if stable and stable != pod_hash:
            return PROGRESSING, "waiting for the analysis to complete"
    elif "canary" in strategy:
        if total > updated:
            return PROGRESSING, f"rollout: {total - updated} old replicas still terminating"
        if stable != pod_hash:
            return PROGRESSING, "waiting for the canary steps to finish"
    return HEALTHY, ""


def rollout(obj: Obj) -> Result:
    if not _observed(obj):
        return PROGRESSING, "waiting for the controller to observe the rollout's spec"
    st = status(obj)
    phase = text(st.get("phase"))
    if phase:
        state = SUSPENDED if phase == "Paused" else phase
        return (state if state in ORDER else UNKNOWN), text(st.get("message"))
    return _legacy(obj)


_ANALYSIS = {
    "Pending": (PROGRESSING, "the analysis is running"),
    "Running": (PROGRESSING, "the analysis is running"),
    "Successful": (HEALTHY, "the analysis succeeded"),
    "Failed": (DEGRADED, "the analysis failed"),
    "Error": (DEGRADED, "the analysis could not run"),
    "Inconclusive": (UNKNOWN, "the analysis was inconclusive"),
}


def analysisrun(obj: Obj) -> Result:
    if "status" not in obj or obj["status"] is None:
        return PROGRESSING, "waiting for the controller to start the analysis"
    st = status(obj)
    found = _ANALYSIS.get(text(st.get("phase")))
    if found is None:
        return None  # a status with no phase Argo CD knows gives no verdict
    return found[0], text(st.get("message")) or found[1]


def workflow(obj: Obj) -> Result:
    st = status(obj)
    phase, message = text(st.get("phase")), text(st.get("message"))
    if phase in ("", "Pending", "Running"):
        return PROGRESSING, message
    if phase == "Succeeded":
        return HEALTHY, message
    if phase in ("Failed", "Error"):
        return DEGRADED, message
    return UNKNOWN, message


CHECKS = {
    ("argoproj.io", "Rollout"): rollout,
    ("argoproj.io", "AnalysisRun"): analysisrun,
    ("argoproj.io", "Workflow"): workflow,
}
