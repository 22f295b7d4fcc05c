"""Flux's ``googlechat`` and ``alertmanager`` Provider types, as Flux's providers page
describes them.

- ``googlechat``: the event as a Google Chat card message (cards v1) to the webhook
  ``address``: a header with the object and the severity, the message as a text
  paragraph, the metadata as key-value widgets; through the Provider's proxy.
- ``alertmanager``: the event as one ``firing`` alert POSTed to the Alertmanager HTTP API
  ``address`` (``…/api/v2/alerts``): labels are the metadata (``summary`` aside) and
  ``alertname`` (``Flux`` + kind + reason), ``severity``, ``reason``, ``kind``, ``name``,
  ``namespace``; annotations the ``message`` and ``summary``; ``startsAt`` the event's time.
  A label name Alertmanager would refuse has its other characters made ``_``. The Secret's
  ``username``/``password`` are Basic authentication, its ``token`` a Bearer token; TLS
  (``certSecretRef``) and the proxy as for the other HTTP types.

Touches the network (``base.http``) only.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from shipway.notify.flux import wire
from shipway.notify.services.base import DeliveryError
from shipway.notify.services.flux_providers import _Flux, _subject

_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def chat_card(payload: dict[str, Any]) -> dict[str, Any]:
    """Google Chat's card (v1) for a Flux event."""
    event = wire(payload)
    meta = {str(k): str(v) for k, v in (event.get("metadata") or {}).items()}
    sections: list[dict[str, Any]] = [
        {"widgets": [{"textParagraph": {"text": str(event.get("message", ""))}}]}
    ]
    if meta:
        sections.append({"widgets": [{"keyValue": {"topLabel": k, "content": v}}
                                     for k, v in sorted(meta.items())]})  # fmt: skip
    return {"cards": [{"header": {"title": _subject(event),
                                  "subtitle": str(event.get("severity", "info"))},
                       "sections": sections}]}  # fmt: skip


def _label(name: str) -> str:
    out = _LABEL.sub("_", name)
    return out if out and not out[0].isdigit() else f"_{out}"


def alert(payload: dict[str, Any]) -> dict[str, Any]:
    """The Alertmanager alert (API v2 ``postableAlert``) for a Flux event."""
    event = wire(payload)
    obj = event.get("involvedObject") or {}
    meta = {str(k): str(v) for k, v in (event.get("metadata") or {}).items()}
    summary = meta.pop("summary", "")
    labels = {_label(k): v for k, v in meta.items()}
    labels.update({
        "alertname": f"Flux{obj.get('kind', '')}{event.get('reason', '')}",
        "severity": str(event.get("severity", "info")), "reason": str(event.get("reason", "")),
        "kind": str(obj.get("kind", "")), "name": str(obj.get("name", "")),
        "namespace": str(obj.get("namespace", "")),
    })  # fmt: skip
    annotations = {"message": str(event.get("message", ""))}
    if summary:
        annotations["summary"] = summary
    return {"labels": {k: v for k, v in labels.items() if v != ""}, "annotations": annotations,
            "startsAt": str(event.get("timestamp", ""))}  # fmt: skip


class GoogleChat(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        status, _ = self.post(self.address, chat_card(payload), {})
        return {"status": status}


class Alertmanager(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        headers: dict[str, str] = {}
        if opts.get("token"):
            headers["Authorization"] = f"Bearer {opts['token']}"
        elif opts.get("username") and opts.get("password"):
            pair = f"{opts['username']}:{opts['password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif opts.get("password"):
            raise DeliveryError(f"provider {self.config.name}: the Secret has a password but "
                                "no username")  # fmt: skip
        status, _ = self.post(self.address, [alert(payload)], headers)
        return {"status": status}


TYPES = {"flux:googlechat": GoogleChat, "flux:alertmanager": Alertmanager}
