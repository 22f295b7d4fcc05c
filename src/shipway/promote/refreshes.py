"""Kargo's refresh requests: the ``kargo.akuity.io/refresh`` annotation and ``lastHandledRefresh``.

As Kargo does: ``kargo refresh warehouse|stage`` writes the annotation with the
time (RFC 3339, UTC); the controller, when it next reconciles the object,
copies the annotation's value into the object's ``status.lastHandledRefresh``,
so a client knows its request was handled by comparing the two. The annotation
stays. A Warehouse whose token is not handled yet is discovered at once
(``promote.warehouse.poll_due``), whatever its ``interval``; a Stage's token is
recorded by the next status pass (``promote.stage_refresh``).

- ``request(store, kind, name, project)``: write a new token; returns it.
- ``token(body)``: the annotation's value, or None.
- ``pending(resource)``: whether the resource carries a token its status has not
  recorded as handled.
- ``handled(status, body)``: ``status`` with ``lastHandledRefresh`` recorded.

Touches the store only (``request``); the rest is pure.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shipway.model.resources import Resource
from shipway.store import resources as store_resources
from shipway.store.db import Store

ANNOTATION = "kargo.akuity.io/refresh"
FIELD = "lastHandledRefresh"


def token(body: dict[str, Any]) -> str | None:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(ANNOTATION)
    return None if value is None else str(value)


def pending(res: Resource) -> bool:
    value = token(res.body)
    return value is not None and value != (res.status or {}).get(FIELD)


def handled(status: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    value = token(body)
    return status if value is None else {**status, FIELD: value}


def request(store: Store, kind: str, name: str, project: str) -> str:
    """Ask the controller to refresh ``kind/name`` (a new token, the time in RFC 3339 UTC)."""
    value = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = store_resources.get(store, kind, name, project)
    if token(found.body) == value:  # two requests in one second: still a new token
        value = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    store_resources.annotate(store, kind, name, ANNOTATION, value, project)
    return value
