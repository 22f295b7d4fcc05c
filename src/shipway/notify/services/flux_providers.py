"""Flux ``Provider`` types shipway sends to, one class each, behind ``base.Service``.

A Provider becomes a ``ServiceConfig`` of type ``flux:<type>`` (``worker_flux``
builds it from the stored Provider and its Secret): options ``address``,
``channel``, ``username``, ``token``, ``headers``, ``timeout`` (seconds),
``apiURL`` (shipway's ``shipway.dev/api-url`` annotation for a forge API that
is not the address's host's). The payload is Flux's event
(``shipway.notify.flux.flux_event``), as Flux's notification-controller sends it:

- ``generic``: POST the event as JSON, with the Secret's ``headers``;
- with ``certSecretRef`` (the HTTP types: generic, generic-hmac, slack, msteams):
  its Secret's ``ca.crt`` verifies the server, ``tls.crt``/``tls.key`` are the
  client certificate (``services.tls``); a ``proxy`` option (from
  ``proxySecretRef``, ``spec.proxy`` or the Secret's ``proxy`` key) sends through
  that HTTP proxy;
- ``generic-hmac``: the same, signed: ``X-Signature: sha256=<hex HMAC-SHA256 of the
  body with the Secret's token>``;
- ``slack``: an attachment (``color`` good/danger, ``author_name``
  ``kind/name.namespace``, ``text``, metadata as ``fields``); with a token,
  ``chat.postMessage`` (``address`` default Slack's) and ``ok`` checked, else the
  address is an incoming webhook;
- ``rocket`` and ``discord``: Slack's attachment payload to the incoming webhook
  (Discord's address with ``/slack`` appended, its Slack-compatible endpoint);
- ``msteams``: to a Teams workflow an Adaptive Card (the object, the message, the
  metadata as facts); to the deprecated Office 365 Connector (a
  ``*.webhook.office.com`` address) a MessageCard (``activityTitle`` the message,
  facts the metadata), as Flux tells them apart;
- ``github``, ``gitlab``, ``gitea``: a commit status on the repository at
  ``address`` for the event's ``revision`` metadata (``main@sha1:<sha>`` or a
  sha; an event without one is skipped, as Flux does): error is ``failure``,
  an operation that started is ``pending``, else ``success``; the context is
  ``<kind>/<name>/<8 hex of the Provider>`` so two Providers do not overwrite
  each other's, or what the Provider's ``commitStatusExpr`` makes of ``event``,
  ``provider`` and ``alert`` (``shipway.model.flux_cel``). The forge credential is
  the Secret's ``token`` or, on the GitHub types, a GitHub App's installation token
  (``githubApp``: the Secret's ``githubAppID``, ``githubAppInstallationID``,
  ``githubAppPrivateKey``, ``githubAppBaseURL``, minted by ``services.github_app``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import ssl
import urllib.parse
from typing import Any

from shipway.git.forge import default_api, open_forge, project_from_url
from shipway.model import flux_cel
from shipway.model.errors import ShipwayError
from shipway.notify.flux import OPENERS, wire
from shipway.notify.services import github_app
from shipway.notify.services.base import TIMEOUT, DeliveryError, Service, http
from shipway.notify.services.tls import client_context


def sorted_metadata(event: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's metadata as ``(key, value)`` strings, sorted by key."""
    return sorted((str(k), str(v)) for k, v in (event.get("metadata") or {}).items())


def _subject(event: dict[str, Any]) -> str:
    obj = event.get("involvedObject") or {}
    ns = f".{obj['namespace']}" if obj.get("namespace") else ""
    return f"{obj.get('kind', '')}/{obj.get('name', '')}{ns}"


class _Flux(Service):
    @property
    def timeout(self) -> float:
        return float(self.config.options.get("timeout") or TIMEOUT)

    @property
    def address(self) -> str:
        addr = str(self.config.options.get("address") or "")
        if not addr:
            raise DeliveryError(f"provider {self.config.name}: no address (spec or secret)")
        return addr

    def post(self, url: str, body: Any, headers: dict[str, str]) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        return http(self, "POST", url, data, {"Content-Type": "application/json", **headers},
                    timeout=self.timeout, context=self.tls, proxy=self.proxy)  # fmt: skip

    def forge_token(self, api: str) -> str:
        """The forge credential: the Secret's ``token``, or on the GitHub types an installation
        token minted with the Secret's GitHub App keys (``githubAppID``,
        ``githubAppInstallationID``, ``githubAppPrivateKey``; ``githubAppBaseURL`` for GitHub
        Enterprise's API), as Flux reads a GitHub App Secret."""
        opts = self.config.options
        app = opts.get("githubApp")
        if opts.get("token") or not isinstance(app, dict):
            return str(opts.get("token") or "")
        base = str(app.get("baseURL") or api)
        return github_app.installation_token(base, str(app["id"]), str(app["installation"]),
                                             str(app["key"]))  # fmt: skip

    @property
    def proxy(self) -> str:
        """The Provider's proxy URL (``proxySecretRef``, ``spec.proxy`` or the Secret's)."""
        return str(self.config.options.get("proxy") or "")

    @property
    def tls(self) -> ssl.SSLContext | None:
        """The ``certSecretRef`` client context (``services.tls``), or the system's."""
        found = self.config.options.get("tls")
        if not found:
            return None
        return client_context(str(found.get("ca") or ""), str(found.get("cert") or ""),
                              str(found.get("key") or ""), subject=f"provider "
                              f"{self.config.name}")  # fmt: skip


class Generic(_Flux):
    sign = False

    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        event = wire(payload)
        data = json.dumps(event).encode()
        headers = {str(k): str(v) for k, v in (self.config.options.get("headers") or {}).items()}
        headers["Content-Type"] = "application/json"
        headers["gotk-component"] = str(event.get("reportingController", ""))
        if self.sign:
            token = str(self.config.options.get("token") or "")
            if not token:
                raise DeliveryError(f"provider {self.config.name}: generic-hmac needs the "
                                    "secret's token key")  # fmt: skip
            mac = hmac.new(token.encode(), data, hashlib.sha256).hexdigest()
            headers["X-Signature"] = f"sha256={mac}"
        status, _ = http(self, "POST", self.address, data, headers, timeout=self.timeout,
                         context=self.tls, proxy=self.proxy)  # fmt: skip
        return {"status": status}


class GenericHMAC(Generic):
    sign = True


class Slack(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        meta = payload.get("metadata") or {}
        attachment = {
            "color": "danger" if payload.get("severity") == "error" else "good",
            "author_name": _subject(payload),
            "text": payload.get("message", ""),
            "mrkdwn_in": ["text"],
            "fields": [{"title": k, "value": v, "short": False} for k, v in meta.items()],
        }
        msg: dict[str, Any] = {"attachments": [attachment]}
        if opts.get("channel"):
            msg["channel"] = opts["channel"]
        if opts.get("username"):
            msg["username"] = opts["username"]
        token = str(opts.get("token") or "")
        if not token:
            self.post(self.address, msg, {})
            return {}
        url = str(opts.get("address") or "https://slack.com/api/chat.postMessage")
        _, raw = self.post(url, msg, {"Authorization": f"Bearer {token}"})
        try:
            answer = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            answer = {"ok": False, "error": raw[:200].decode(errors="replace")}
        if not answer.get("ok"):
            raise DeliveryError(self.mask(f"slack: {answer.get('error', answer)}"))
        return {"ts": answer.get("ts", ""), "channel": answer.get("channel", "")}


class Rocket(_Flux):
    """Rocket.Chat's incoming webhook: Slack's attachment payload to the address (the
    username default the reporting controller, as Flux's)."""

    def url(self) -> str:
        return self.address

    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        meta = payload.get("metadata") or {}
        msg: dict[str, Any] = {
            "username": str(opts.get("username") or payload.get("reportingController", "")),
            "attachments": [{
                "color": "danger" if payload.get("severity") == "error" else "good",
                "author_name": _subject(payload), "text": payload.get("message", ""),
                "mrkdwn_in": ["text"],
                "fields": [{"title": k, "value": v, "short": False} for k, v in meta.items()],
            }],
        }  # fmt: skip
        if opts.get("channel"):
            msg["channel"] = opts["channel"]
        status, _ = self.post(self.url(), msg, {})
        return {"status": status}


class Discord(Rocket):
    """Discord's Slack-compatible webhook: the address with ``/slack`` appended."""

    def url(self) -> str:
        addr = self.address
        if addr.rstrip("/").endswith("/slack"):
            return addr
        parts = urllib.parse.urlsplit(addr)
        return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/slack"))


class MSTeams(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        meta = payload.get("metadata") or {}
        card = {
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": "FF0000" if payload.get("severity") == "error" else "0076D7",
            "summary": _subject(payload),
            "sections": [{
                "activityTitle": payload.get("message", ""),
                "activitySubtitle": _subject(payload),
                "facts": [{"name": k, "value": v} for k, v in meta.items()],
            }],
        }  # fmt: skip
        if not _office_connector(self.address):
            card = adaptive_card(payload)
        status, _ = self.post(self.address, card, {})
        return {"status": status}


def _office_connector(address: str) -> bool:
    """The deprecated Office 365 Connector (a ``*.webhook.office.com`` host) takes a
    MessageCard; a Teams workflow (any other address) an Adaptive Card, as Flux decides."""
    host = urllib.parse.urlsplit(address).hostname or ""
    return host.endswith(".webhook.office.com")


def adaptive_card(payload: dict[str, Any]) -> dict[str, Any]:
    """A Teams workflow message: an Adaptive Card (1.4) with the object, the message
    (``attention`` for an error) and the metadata as facts, sorted by name."""
    meta = payload.get("metadata") or {}
    text: dict[str, Any] = {"type": "TextBlock", "text": payload.get("message", ""),
                            "wrap": True}  # fmt: skip
    if payload.get("severity") == "error":
        text["color"] = "attention"
    facts = [{"title": k, "value": str(meta[k])} for k in sorted(meta)]
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _subject(payload), "weight": "bolder", "size": "medium",
         "wrap": True},
        text,
    ]  # fmt: skip
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    content = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
               "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"},
               "body": [{"type": "Container", "items": body}]}  # fmt: skip
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": content}
        ],
    }


_SHA = re.compile(r"([0-9a-f]{40}|[0-9a-f]{64})$")


def _sha(revision: str) -> str:
    m = _SHA.search(revision.strip())
    return m[1] if m else ""


class CommitStatus(_Flux):
    forge_kind = "github"

    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        sha = _sha(str((payload.get("metadata") or {}).get("revision") or ""))
        if not sha:
            return {"skipped": "no revision in the event's metadata"}
        repo = self.address
        api = str(opts.get("apiURL") or default_api(self.forge_kind, repo))
        obj = payload.get("involvedObject") or {}
        uid = hashlib.sha256(self.config.name.encode()).hexdigest()[:8]
        context = f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}/{uid}"
        if opts.get("commitStatusExpr"):  # Flux's CEL over event, provider and alert
            activation = {"event": wire(payload), "provider": opts.get("provider") or {},
                          "alert": opts.get("alert") or {}}  # fmt: skip
            try:
                context = flux_cel.evaluate(str(opts["commitStatusExpr"]), activation)
            except ValueError as exc:
                raise DeliveryError(f"provider {self.config.name}: {exc}") from None
        if payload.get("severity") == "error":
            state = "failure"
        elif payload.get("reason") in OPENERS:
            state = "pending"
        else:
            state = "success"
        meta = payload.get("metadata") or {}
        text = str(meta.get("summary") or payload.get("message", "")).splitlines()
        forge = open_forge(self.forge_kind, api, project_from_url(repo), self.forge_token(api))
        try:
            forge.set_status(sha, state, context, text[0] if text else "")
        except ShipwayError as exc:  # a 404 or 422 (NotFound/Conflict) is an answer too
            msg = f"{self.forge_kind} {forge.project}: {exc.message}"
            raise DeliveryError(self.mask(msg)) from None
        finally:
            forge.close_client()
        return {"state": state, "context": context, "sha": sha}


class GitHubStatus(CommitStatus):
    forge_kind = "github"


class GitLabStatus(CommitStatus):
    forge_kind = "gitlab"


class GiteaStatus(CommitStatus):
    forge_kind = "gitea"


TYPES: dict[str, type[Service]] = {
    "flux:generic": Generic,
    "flux:generic-hmac": GenericHMAC,
    "flux:slack": Slack,
    "flux:msteams": MSTeams,
    "flux:rocket": Rocket,
    "flux:discord": Discord,
    "flux:github": GitHubStatus,
    "flux:gitlab": GitLabStatus,
    "flux:gitea": GiteaStatus,
}
