"""A Flux ``Receiver``'s status as Flux's receivers page documents it: ``webhookPath`` (the
``/hook/<sha256(token+name+namespace)>`` path to give the sender; for ``generic-oidc``,
which has no token, the name and namespace alone) and a ``Ready`` condition
(``Succeeded``, "Receiver initialized for path: ..."; ``False`` with the reason when the
Secret or its ``token`` key is missing, or the Receiver is suspended), with
``observedGeneration``. ``publish(store)`` writes the status of every Receiver whose
status differs, once per notification pass. Touches the store and the Secret files.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from shipway.model.errors import ShipwayError
from shipway.model.events import rfc3339
from shipway.model.flux_notify import webhook_path
from shipway.model.resources import Resource
from shipway.notify.services.base import DeliveryError
from shipway.notify.worker_flux import read_secret
from shipway.store import resources
from shipway.store.db import Store

log = logging.getLogger(__name__)


def status_of(res: Resource) -> dict[str, Any]:
    """The status Flux would report for ``res`` now (its ``lastTransitionTime`` aside)."""
    spec = res.spec
    ready, reason, path, message = "True", "Succeeded", "", ""
    if spec.get("type") == "generic-oidc":
        path = webhook_path("", res.name, res.namespace)
    else:
        ref = str((spec.get("secretRef") or {}).get("name") or "")
        try:
            token = read_secret(res.namespace, ref).get("token", "")
        except DeliveryError as exc:
            ready, reason, message = "False", "TokenNotFound", exc.message
        else:
            if token:
                path = webhook_path(token, res.name, res.namespace)
            else:
                ready, reason = "False", "TokenNotFound"
                message = f"Secret {res.namespace}/{ref} has no token key"
    if path:
        message = f"Receiver initialized for path: {path}"
    if spec.get("suspend"):
        ready, reason, message = "False", "Suspended", "the Receiver is suspended"
    out: dict[str, Any] = {"conditions": [{"type": "Ready", "status": ready, "reason": reason,
                                           "message": message}]}  # fmt: skip
    if path:
        out["webhookPath"] = path
    generation = res.metadata.get("generation")
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def _same(old: Any, new: dict[str, Any]) -> bool:
    if not isinstance(old, dict):
        return False
    strip = [{k: v for k, v in c.items() if k != "lastTransitionTime"}
             for c in old.get("conditions") or []]  # fmt: skip
    return {**old, "conditions": strip} == new


def publish(store: Store, now: str | None = None) -> int:
    """Write each Receiver's status where it changed; how many were written."""
    written = 0
    for res in resources.list_kind(store, "Receiver"):
        want = status_of(res)
        if _same(res.status, want):
            continue
        for cond in want["conditions"]:
            cond["lastTransitionTime"] = now or rfc3339(dt.datetime.now(dt.UTC))
        try:
            resources.set_status(store, "Receiver", res.name, want, namespace=res.namespace)
            written += 1
        except ShipwayError as exc:  # a Receiver deleted meanwhile: the next pass sees it
            log.warning("Receiver %s: status not written: %s", res.key, exc)
    return written
