"""Flux's ``opsgenie`` and ``pagerduty`` Provider types, as Flux's providers page describes
them.

- ``opsgenie``: an alert POSTed to the ``address`` with ``Authorization: GenieKey <token>``
  (the Secret's ``token``): ``message`` ``<Kind>/<name>``, ``description`` the event's
  message, ``details`` the metadata and ``severity``, ``alias`` the hex SHA-256 of
  Provider, kind, namespace, name and reason (one open alert per object and reason).
- ``pagerduty``: to the ``address``'s scheme and host, ``/v2/enqueue`` an Events API v2
  event with the ``channel`` as routing key: an error ``trigger``s (summary ``<reason in
  words>: <kind>/<name>``, source ``Flux <controller>``, severity, timestamp, component the
  name, group the kind, details the message and metadata), anything else ``resolve``s; an
  info event is also a change event (``/v2/change/enqueue``) on the service's timeline.
  The dedup key is the object's stable id (shipway stores no uid: a digest of its kind,
  namespace and name); an operation that only started is left out, as Flux leaves out
  Progressing.

Both through the Provider's proxy and TLS settings. Touches the network only.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any

from shipway.notify.flux import OPENERS, wire
from shipway.notify.services.base import DeliveryError
from shipway.notify.services.flux_bitbucket import description
from shipway.notify.services.flux_providers import _Flux


def _uid(text: str) -> str:
    """A stable id in UUID form (as ``worker_flux.provider_uid`` makes a Provider's)."""
    h = hashlib.sha256(text.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _object_id(obj: dict[str, Any]) -> str:
    return _uid(f"{obj.get('kind', '')}/{obj.get('namespace', '')}/{obj.get('name', '')}")


class Opsgenie(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        token = str(self.config.options.get("token") or "")
        if not token:
            raise DeliveryError(f"provider {self.config.name}: empty Opsgenie apikey/token "
                                "(the Secret's token)")  # fmt: skip
        event = wire(payload)
        obj = event.get("involvedObject") or {}
        details = {str(k): str(v) for k, v in (event.get("metadata") or {}).items()}
        details["severity"] = str(event.get("severity", "info"))
        key = "/".join((_uid(self.config.name), str(obj.get("kind", "")),
                        str(obj.get("namespace", "")), str(obj.get("name", "")),
                        str(event.get("reason", ""))))  # fmt: skip
        body = {"message": f"{obj.get('kind', '')}/{obj.get('name', '')}",
                "alias": hashlib.sha256(key.encode()).hexdigest(),
                "description": str(event.get("message", "")), "details": details}  # fmt: skip
        status, _ = self.post(self.address, body, {"Authorization": f"GenieKey {token}"})
        return {"status": status, "alias": body["alias"]}


class PagerDuty(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        if payload.get("reason") in OPENERS:
            return {"skipped": "an operation that started (Flux's Progressing)"}
        key = str(self.config.options.get("channel") or "")
        if not key:
            raise DeliveryError(f"provider {self.config.name}: no routing key (the Provider's "
                                "channel)")  # fmt: skip
        parts = urllib.parse.urlsplit(self.address)
        if not parts.scheme or not parts.netloc:
            raise DeliveryError(f"provider {self.config.name}: invalid PagerDuty endpoint URL "
                                f"{self.address!r}")  # fmt: skip
        base = f"{parts.scheme}://{parts.netloc}"
        event = wire(payload)
        obj = event.get("involvedObject") or {}
        name = f"{obj.get('kind', '')}/{obj.get('name', '')}".lower()
        summary = f"{description(str(event.get('reason', '')))}: {name}"
        source = f"Flux {event.get('reportingController', '')}"
        details = {"message": event.get("message", ""), "metadata": event.get("metadata") or {}}
        v2: dict[str, Any] = {"routing_key": key, "event_action": "resolve",
                              "dedup_key": _object_id(obj)}  # fmt: skip
        error = event.get("severity") == "error"
        if error:
            v2["event_action"] = "trigger"
            v2["payload"] = {"summary": summary, "source": source, "severity": "error",
                             "timestamp": event.get("timestamp", ""),
                             "component": obj.get("name", ""), "group": obj.get("kind", ""),
                             "custom_details": details}  # fmt: skip
        self.post(f"{base}/v2/enqueue", v2, {})
        if not error:
            change = {"routing_key": key, "payload": {
                "summary": summary, "source": source, "timestamp": event.get("timestamp", ""),
                "custom_details": details}}  # fmt: skip
            self.post(f"{base}/v2/change/enqueue", change, {})
        return {"action": v2["event_action"], "dedup_key": v2["dedup_key"]}


TYPES = {"flux:opsgenie": Opsgenie, "flux:pagerduty": PagerDuty}
