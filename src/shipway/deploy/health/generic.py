"""The fallback for kinds without a check of their own: standard ``status.conditions``. Pure.

Applies only to objects carrying at least one of the standard condition
types ``Ready``, ``Available``, ``Stalled`` or ``Reconciling`` (kstatus and
the Kubernetes API conventions); anything else has no health (``None``), so
it does not count in the application's health. In order:

- the controller has not observed ``metadata.generation``: Progressing;
- ``Stalled`` true: Degraded; ``Reconciling`` true: Progressing;
- ``Ready`` (else ``Available``) true: Healthy; unknown: Progressing; false:
  Progressing when its reason says the object is still being set up
  (``Creating``, ``Pending``, ``Progressing`` ...), else Degraded;
- only ``Stalled``/``Reconciling``, both false: Healthy (kstatus "Current").
"""

from __future__ import annotations

import re

from shipway.deploy.health.util import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    Obj,
    Result,
    conditions,
    generation_pending,
    text,
)

STANDARD = ("Ready", "Available", "Stalled", "Reconciling")
_TRANSIENT = re.compile(
    r"progress|pending|reconcil|creat|provision|initiali|wait|start|install|upgrad|updat|"
    r"deploy|scheduling|inprogress|notyet",
    re.IGNORECASE,
)


def describe(cond: Obj) -> str:
    """``reason: message`` of a condition (either part may be missing)."""
    reason, message = text(cond.get("reason")), text(cond.get("message"))
    return f"{reason}: {message}" if reason and message else reason or message


def ready_like(cond: Obj) -> Result:
    """Health from a ``Ready``-style condition (True / Unknown / False with a reason)."""
    state = text(cond.get("status"))
    if state == "True":
        return HEALTHY, text(cond.get("message"))
    if state == "False" and not _TRANSIENT.search(text(cond.get("reason"))):
        return DEGRADED, describe(cond)
    return PROGRESSING, describe(cond)


def standard(obj: Obj) -> Result:
    """The generic rule; ``None`` when the object has none of the standard conditions."""
    found = {t: c for c in reversed(conditions(obj)) if (t := text(c.get("type"))) in STANDARD}
    if not found:
        return None
    if generation_pending(obj):
        return PROGRESSING, "waiting for the controller to observe the latest generation"
    stalled, reconciling = found.get("Stalled"), found.get("Reconciling")
    if stalled is not None and text(stalled.get("status")) == "True":
        return DEGRADED, describe(stalled)
    if reconciling is not None and text(reconciling.get("status")) == "True":
        return PROGRESSING, describe(reconciling)
    ready = found.get("Ready") or found.get("Available")
    if ready is not None:
        return ready_like(ready)
    return HEALTHY, ""
