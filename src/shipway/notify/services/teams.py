"""Microsoft Teams (Argo CD's ``service.teams``): an incoming-webhook MessageCard.

``recipientUrls`` maps a recipient (the annotation's value) to its webhook URL.
The template's ``teams`` fields, as Argo CD documents them: ``template`` (a
whole card, JSON, used as is), else ``title``, ``summary``, ``text`` (default:
the message), ``themeColor``, ``facts`` (a JSON list of ``{name, value}``, one
section of its own), ``sections`` and ``potentialAction`` (JSON lists). Teams
answers ``1`` with 200 (or 202 for a workflow webhook); any other answer is
the service's refusal.
"""

from __future__ import annotations

import json
from typing import Any

from shipway.notify.services.base import DeliveryError, Service, http


def _json(field: str, value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise DeliveryError(f"teams.{field} is not JSON: {exc}") from None
    return value


def card(payload: dict[str, Any]) -> dict[str, Any]:
    """The MessageCard for a rendered payload (``teams`` fields and ``message``)."""
    teams = payload.get("teams") or {}
    whole = _json("template", teams.get("template"))
    if whole:
        if not isinstance(whole, dict):
            raise DeliveryError("teams.template is not a JSON object")
        return whole
    msg: dict[str, Any] = {"@type": "MessageCard", "@context": "https://schema.org/extensions"}
    text = teams.get("text") or payload.get("message", "")
    msg["text"] = text
    msg["summary"] = teams.get("summary") or teams.get("title") or str(text)[:80]
    for key in ("title", "themeColor"):
        if teams.get(key):
            msg[key] = teams[key]
    sections = list(_json("sections", teams.get("sections")) or [])
    facts = _json("facts", teams.get("facts"))
    if facts:
        sections.append({"facts": facts})
    if sections:
        msg["sections"] = sections
    actions = _json("potentialAction", teams.get("potentialAction"))
    if actions:
        msg["potentialAction"] = actions
    return msg


class TeamsService(Service):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        urls = self.config.options.get("recipientUrls") or {}
        url = urls.get(recipient) if isinstance(urls, dict) else None
        if not url:
            raise DeliveryError(f"teams: no recipientUrls entry for {recipient!r}")
        body = json.dumps(card(payload)).encode()
        status, raw = http(self, "POST", str(url), body, {"Content-Type": "application/json"})
        answer = raw.decode(errors="replace").strip()
        if status == 200 and answer not in ("1", ""):
            raise DeliveryError(self.mask(f"teams {recipient}: {answer[:300]}"))
        return {"status": status}
