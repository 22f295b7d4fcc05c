"""Microsoft Teams Workflows (Argo CD's ``service.teams-workflows``): an Adaptive Card in a
Teams ``message`` envelope, POSTed to the recipient's workflow URL (``recipientUrls``).

The template's ``teams-workflows`` fields, as Argo CD's teams-workflows page documents
them: ``adaptiveCard`` (a whole card, JSON, wrapped as is; it wins over the rest), else
``title`` (a large bold TextBlock, coloured by ``themeColor``: Good, Warning, Attention,
Accent, or a hex colour, which Adaptive Cards cannot show and is left off), ``text``
(default: the message), ``facts`` and each of ``sections[].facts`` (FactSets),
``potentialAction`` (its OpenUri actions as ``Action.OpenUrl``); ``summary`` is kept
for compatibility and unused, as there. A workflow answers 200 or 202; any other
answer is the service's refusal.
"""

from __future__ import annotations

import json
from typing import Any

from shipway.notify.services.base import DeliveryError, Service, http

_SEMANTIC = {"default", "dark", "light", "accent", "good", "warning", "attention"}


def _json(field: str, value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise DeliveryError(f"teams-workflows.{field} is not JSON: {exc}") from None
    return value


def _facts(items: Any) -> dict[str, Any] | None:
    facts = [{"title": str(f.get("name", "")), "value": str(f.get("value", ""))}
             for f in items or [] if isinstance(f, dict)]  # fmt: skip
    return {"type": "FactSet", "facts": facts} if facts else None


def card(payload: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card for a rendered payload (``teams-workflows`` fields, ``message``)."""
    tw = payload.get("teams-workflows") or {}
    whole = _json("adaptiveCard", tw.get("adaptiveCard")) or _json("template", tw.get("template"))
    if whole:
        if not isinstance(whole, dict):
            raise DeliveryError("teams-workflows.adaptiveCard is not a JSON object")
        return whole
    body: list[dict[str, Any]] = []
    if tw.get("title"):
        title = {"type": "TextBlock", "text": str(tw["title"]), "size": "Large",
                 "weight": "Bolder", "wrap": True}  # fmt: skip
        color = str(tw.get("themeColor") or "")
        if color.lower() in _SEMANTIC:
            title["color"] = color[0].upper() + color[1:].lower()
        body.append(title)
    text = tw.get("text") or payload.get("message", "")
    if text:
        body.append({"type": "TextBlock", "text": str(text), "wrap": True})
    for found in [_facts(_json("facts", tw.get("facts")))] + [
        _facts(s.get("facts")) for s in _json("sections", tw.get("sections")) or []
        if isinstance(s, dict)
    ]:  # fmt: skip
        if found:
            body.append(found)
    actions = []
    for a in _json("potentialAction", tw.get("potentialAction")) or []:
        targets = [t for t in a.get("targets") or [] if isinstance(t, dict)]
        if a.get("@type") == "OpenUri" and targets:
            actions.append({"type": "Action.OpenUrl", "title": str(a.get("name", "")),
                            "url": str(targets[0].get("uri", ""))})  # fmt: skip
    out: dict[str, Any] = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    }
    if actions:
        out["actions"] = actions
    return out


class TeamsWorkflowsService(Service):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        urls = self.config.options.get("recipientUrls") or {}
        url = urls.get(recipient) if isinstance(urls, dict) else None
        if not url:
            raise DeliveryError(f"teams-workflows: no recipientUrls entry for {recipient!r}")
        message = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card(payload)}
            ],
        }
        status, raw = http(self, "POST", str(url), json.dumps(message).encode(),
                           {"Content-Type": "application/json"})  # fmt: skip
        if status not in (200, 202):
            answer = raw.decode(errors="replace").strip()[:300]
            raise DeliveryError(self.mask(f"teams-workflows {recipient}: HTTP {status}: {answer}"))
        return {"status": status}
