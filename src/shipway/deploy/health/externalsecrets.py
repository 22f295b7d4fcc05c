"""External Secrets Operator: ExternalSecret, SecretStore (and their cluster-wide forms). Pure.

The ``Ready`` condition decides: true Healthy (the secret is synced, the
store validated), false Degraded with the operator's message (for example
``SecretSyncedError``), none yet Progressing. A ``refreshInterval: 0``
ExternalSecret that synced once stays Ready, hence Healthy.
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
    text,
)

GROUP = "external-secrets.io"


def ready(obj: Obj) -> Result:
    kind = text(obj.get("kind"))
    if generation_pending(obj):
        return PROGRESSING, f"waiting for the operator to observe the {kind}'s latest generation"
    cond = condition(obj, "Ready")
    state = text((cond or {}).get("status"))
    if cond is None or state not in ("True", "False"):
        return PROGRESSING, f"waiting for the {kind} to be ready"
    reason, message = text(cond.get("reason")), text(cond.get("message"))
    detail = f"{reason}: {message}" if reason and message else reason or message
    return (HEALTHY, message) if state == "True" else (DEGRADED, detail)


CHECKS = {
    (GROUP, k): ready
    for k in ("ExternalSecret", "ClusterExternalSecret", "SecretStore", "ClusterSecretStore")
}
