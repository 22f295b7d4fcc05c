"""cert-manager: Certificate, Issuer, ClusterIssuer. Pure.

A Certificate being issued (``Issuing`` true) is Progressing; otherwise its
``Ready`` condition decides: true Healthy, false Degraded (the message says
why, e.g. the issuer is not ready or the order failed). An Issuer or
ClusterIssuer is judged by ``Ready`` alone; no condition yet is Progressing.
"""

from __future__ import annotations

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    Obj,
    Result,
    condition,
    generation_pending,
    is_true,
    text,
)


def _ready(obj: Obj, waiting: str) -> Result:
    if generation_pending(obj):
        return PROGRESSING, "waiting for cert-manager to observe the latest generation"
    ready = condition(obj, "Ready")
    if ready is None or text(ready.get("status")) not in ("True", "False"):
        return PROGRESSING, waiting
    state = HEALTHY if text(ready.get("status")) == "True" else DEGRADED
    return state, text(ready.get("message"))


def certificate(obj: Obj) -> Result:
    issuing = condition(obj, "Issuing")
    if issuing is not None and is_true(issuing):
        return PROGRESSING, text(issuing.get("message")) or "issuing the certificate"
    return _ready(obj, "waiting for the certificate to be issued")


def issuer(obj: Obj) -> Result:
    return _ready(obj, f"waiting for the {text(obj.get('kind'))} to be registered")


CHECKS = {
    ("cert-manager.io", "Certificate"): certificate,
    ("cert-manager.io", "Issuer"): issuer,
    ("cert-manager.io", "ClusterIssuer"): issuer,
}
