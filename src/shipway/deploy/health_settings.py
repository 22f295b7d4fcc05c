"""Argo CD's health customizations, read from the ``argocd-cm`` ConfigMap in the store.

``load(store)`` returns the ``health.Customizations`` of the stored
ConfigMap ``argocd-cm`` (``shipway apply -f argocd-cm.yaml``), parsed once per
distinct ``data``. A malformed ConfigMap does not stop reconciling: every
object a script could judge gets Unknown with the error (as Argo CD's
comparison fails on bad settings), naming the ConfigMap key and line.
Reads the store only.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from shipway.deploy import health
from shipway.deploy.health import custom
from shipway.model.errors import InputError
from shipway.store import resources as store_resources
from shipway.store.db import Store

CONFIGMAP = "argocd-cm"

_parsed: dict[str, health.Customizations] = {}
_lock = threading.Lock()


def parse(data: dict[str, Any]) -> health.Customizations:
    """``data`` of an argocd-cm ConfigMap as customizations (with ``error`` when malformed)."""
    key = json.dumps(data, sort_keys=True)
    with _lock:
        found = _parsed.get(key)
    if found is None:
        try:
            found = custom.from_configmap(data, f"ConfigMap/{CONFIGMAP}")
        except InputError as exc:
            found = custom.Customizations(error=str(exc))
        with _lock:
            if len(_parsed) > 64:
                _parsed.clear()
            _parsed[key] = found
    return found


def load(store: Store) -> health.Customizations | None:
    """The stored argocd-cm's health customizations, or None when there is no argocd-cm."""
    cm = store_resources.find(store, "ConfigMap", CONFIGMAP)
    if cm is None:
        return None
    data = cm.body.get("data") or {}
    if not isinstance(data, dict):
        return custom.Customizations(error=f"ConfigMap/{CONFIGMAP}: data is not a mapping")
    return parse(data)
