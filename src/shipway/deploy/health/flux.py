"""Flux: Kustomization, HelmRelease and the source kinds (GitRepository, OCIRepository,
HelmRepository, HelmChart, Bucket). Pure.

Flux objects follow kstatus: ``spec.suspend`` is Suspended; while the
generation is not observed, or ``Reconciling`` is true, Progressing;
``Stalled`` true is Degraded; then the ``Ready`` condition decides (true
Healthy, false Degraded with its reason, unknown Progressing). An ``oci``
HelmRepository is never reconciled by Flux (no conditions): Healthy.
"""

from __future__ import annotations

from shipway.deploy.health.generic import describe
from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    Obj,
    Result,
    condition,
    conditions,
    generation_pending,
    is_true,
    spec,
    suspended,
    text,
)


def flux(obj: Obj) -> Result:
    kind = text(obj.get("kind"))
    paused = suspended(obj, kind)
    if paused is not None:
        return paused
    if kind == "HelmRepository" and spec(obj).get("type") == "oci" and not conditions(obj):
        return HEALTHY, "an OCI HelmRepository is not reconciled by Flux"
    if generation_pending(obj):
        return PROGRESSING, "waiting for Flux to reconcile the latest generation"
    stalled, reconciling = condition(obj, "Stalled"), condition(obj, "Reconciling")
    if stalled is not None and is_true(stalled):
        return DEGRADED, describe(stalled)
    if reconciling is not None and is_true(reconciling):
        return PROGRESSING, describe(reconciling)
    ready = condition(obj, "Ready")
    if ready is None:
        return PROGRESSING, "waiting for Flux to reconcile"
    state = text(ready.get("status"))
    if state == "True":
        return HEALTHY, describe(ready)
    if state == "False":
        return DEGRADED, describe(ready)
    return PROGRESSING, describe(ready)


CHECKS = {
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): flux,
    ("helm.toolkit.fluxcd.io", "HelmRelease"): flux,
    **{
        ("source.toolkit.fluxcd.io", k): flux
        for k in ("GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket")
    },
}
