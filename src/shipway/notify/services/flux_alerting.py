"""Flux's ``googlechat``, ``alertmanager``, ``grafana`` and ``githubdispatch`` Provider
types, as Flux's providers page describes them.

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
- ``grafana``: an annotation POSTed to the ``address`` (``…/api/annotations``): ``when`` the
  event's time (Unix seconds), ``text`` ``<kind>/<name>.<namespace>``, ``tags`` ``flux``,
  the controller, ``key: value`` of each metadata entry (``:`` in them made ``|``) and of
  kind, name and namespace; the Secret's ``token`` (Bearer) or ``username``/``password``.
- ``githubdispatch``: a ``repository_dispatch`` on the repository at ``address``:
  ``event_type`` ``<Kind>/<name>.<namespace>``, ``client_payload`` the event; the token or
  GitHub App of the github types.

Touches the network (``base.http``) only.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from shipway.git.forge import default_api, project_from_url
from shipway.model.events import epoch_of
from shipway.notify.flux import wire
from shipway.notify.services.base import DeliveryError
from shipway.notify.services.flux_providers import _Flux, _subject, sorted_metadata

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


def _auth_headers(opts: Mapping[str, Any]) -> dict[str, str]:
    """The Secret's ``token`` as a bearer token, else ``username`` and ``password`` as basic
    authentication, as Flux's Alertmanager and Grafana providers send them."""
    if opts.get("token"):
        return {"Authorization": f"Bearer {opts['token']}"}
    if opts.get("username") and opts.get("password"):
        pair = f"{opts['username']}:{opts['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return {}


class Alertmanager(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        if opts.get("password") and not opts.get("username") and not opts.get("token"):
            raise DeliveryError(f"provider {self.config.name}: the Secret has a password but "
                                "no username")  # fmt: skip
        status, _ = self.post(self.address, [alert(payload)], _auth_headers(opts))
        return {"status": status}


def _unix(rfc3339: str) -> int:
    try:
        return int(epoch_of(rfc3339) or 0)
    except ValueError:
        return 0


class Grafana(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        event = wire(payload)
        obj = event.get("involvedObject") or {}
        meta = sorted_metadata(event)
        tags = ["flux", str(event.get("reportingController", ""))]
        tags += [f"{k.replace(':', '|')}: {v.replace(':', '|')}" for k, v in meta]
        tags += [f"{f}: {obj.get(f, '')}" for f in ("kind", "name", "namespace")]
        body = {"when": _unix(str(event.get("timestamp", ""))), "tags": tags,
                "text": f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}."
                        f"{obj.get('namespace', '')}"}  # fmt: skip
        status, _ = self.post(self.address, body, _auth_headers(opts))
        return {"status": status}


class GitHubDispatch(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        event = wire(payload)
        obj = event.get("involvedObject") or {}
        event_type = f"{obj.get('kind', '')}/{obj.get('name', '')}.{obj.get('namespace', '')}"
        api = str(self.config.options.get("apiURL") or default_api("github", self.address))
        project = project_from_url(self.address)
        token = self.forge_token(api)
        if not token:
            raise DeliveryError(f"provider {self.config.name}: no token or GitHub App in the "
                                "Secret")  # fmt: skip
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
        body = {"event_type": event_type, "client_payload": event}
        status, _ = self.post(f"{api.rstrip('/')}/repos/{project}/dispatches", body, headers)
        return {"status": status, "event_type": event_type}


TYPES = {"flux:googlechat": GoogleChat, "flux:alertmanager": Alertmanager,
         "flux:grafana": Grafana, "flux:githubdispatch": GitHubDispatch}  # fmt: skip
