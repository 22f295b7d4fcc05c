"""KEDA: ScaledObject and ScaledJob. Pure.

``Ready`` false is Degraded (the scale target or a trigger is broken); a
ScaledObject whose ``Fallback`` condition is true runs on its fallback
replica count because its scalers fail: Degraded too. A ready object that is
paused (``Paused`` true, or the ``autoscaling.keda.sh/paused`` /
``paused-replicas`` annotations) is Suspended; ready and active is Healthy;
no verdict yet is Progressing.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    SUSPENDED,
    Obj,
    Result,
    annots,
    condition,
    is_false,
    is_true,
    text,
)

PAUSED = "autoscaling.keda.sh/paused"
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"


def _paused(obj: Obj) -> bool:
    ann = annots(obj)
    return (
        is_true(condition(obj, "Paused"))
        or text(ann.get(PAUSED)).lower() == "true"
        or PAUSED_REPLICAS in ann
    )


def scaled(obj: Obj) -> Result:
    ready, fallback = condition(obj, "Ready"), condition(obj, "Fallback")
    if ready is not None and is_false(ready):
        return DEGRADED, text(ready.get("message")) or text(ready.get("reason"))
    if fallback is not None and is_true(fallback):
        return DEGRADED, text(fallback.get("message")) or "scalers failing: using fallback replicas"
    if ready is None or not is_true(ready):
        return PROGRESSING, f"waiting for KEDA to set up the {text(obj.get('kind'))}"
    if _paused(obj):
        return SUSPENDED, f"{text(obj.get('kind'))} is paused"
    return HEALTHY, text(ready.get("message"))


CHECKS = {("keda.sh", "ScaledObject"): scaled, ("keda.sh", "ScaledJob"): scaled}
