"""Autoscaling and disruption budgets: HorizontalPodAutoscaler, PodDisruptionBudget. Pure.

An HPA's conditions come from ``status.conditions`` (``autoscaling/v2``) or,
for ``autoscaling/v1``, from the JSON in the annotation
``autoscaling.alpha.kubernetes.io/conditions``. A failure to read the scale
target or its metrics is Degraded; ``AbleToScale`` or ``ScalingLimited``
true is Healthy; anything else is still waiting. A PodDisruptionBudget is
Degraded when a condition is false for a reason other than
``InsufficientPods`` (a budget that blocks evictions on purpose).
"""

from __future__ import annotations

import json

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    Obj,
    Result,
    annots,
    conditions,
    items,
    text,
    version,
)

HPA_V1_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"

_DEGRADED = {
    ("AbleToScale", "FailedGetScale"),
    ("AbleToScale", "FailedUpdateScale"),
    ("ScalingActive", "FailedGetResourceMetric"),
    ("ScalingActive", "FailedGetObjectMetric"),
    ("ScalingActive", "FailedGetPodsMetric"),
    ("ScalingActive", "FailedGetExternalMetric"),
    ("ScalingActive", "FailedGetContainerResourceMetric"),
    ("ScalingActive", "FailedComputeMetricsReplicas"),
    ("ScalingActive", "InvalidSelector"),
    ("ScalingActive", "InvalidMetricSourceType"),
}
_WAITING = (PROGRESSING, "waiting for the autoscaler to act")


def _hpa_conditions(obj: Obj) -> list[Obj]:
    if version(obj) != "v1":
        return conditions(obj)
    raw = annots(obj).get(HPA_V1_CONDITIONS)
    if raw is None:
        return []
    try:
        parsed = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise ValueError(f"annotation {HPA_V1_CONDITIONS} is not JSON: {exc}") from None
    return items(parsed)


def hpa(obj: Obj) -> Result:
    conds = _hpa_conditions(obj)
    for c in conds:
        if (text(c.get("type")), text(c.get("reason"))) in _DEGRADED:
            return DEGRADED, text(c.get("message"))
    for c in conds:
        if c.get("type") in ("AbleToScale", "ScalingLimited") and text(c.get("status")) == "True":
            return HEALTHY, text(c.get("message"))
    return _WAITING


def pdb(obj: Obj) -> Result:
    found: Result = (PROGRESSING, "waiting for the budget's status")
    for c in conditions(obj):
        reason = text(c.get("reason"))
        if text(c.get("status")) == "False" and reason != "InsufficientPods":
            return DEGRADED, f"PodDisruptionBudget has {reason}"
        found = HEALTHY, f"PodDisruptionBudget has {reason}"
    return found


CHECKS = {
    ("autoscaling", "HorizontalPodAutoscaler"): hpa,
    ("policy", "PodDisruptionBudget"): pdb,
}
