"""Slack: ``chat.postMessage`` to ``apiURL`` (default Slack's), and ``chat.update`` of the
group's earlier message when the template says ``deliveryPolicy: PostAndUpdate`` (or
``Update``) with a ``groupingKey``. Slack answers 200 with ``ok: false`` on refusal.
``username`` and ``icon`` (an emoji, or an image URL) come from the template's
``slack`` fields, else the service's; ``disableUnfurl`` turns link previews off;
``insecureSkipVerify`` accepts any certificate."""

from __future__ import annotations

import json
from typing import Any

from shipway.notify.services.base import DeliveryError, Service, http, insecure_context

DEFAULT_API = "https://slack.com/api/"


def _json_field(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise DeliveryError(f"slack field is not JSON: {value[:200]}") from None
    return value or None


class SlackService(Service):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        slack = payload.get("slack") or {}
        msg: dict[str, Any] = {"channel": recipient, "text": payload.get("message", "")}
        for name in ("attachments", "blocks"):
            value = _json_field(slack.get(name))
            if value:
                msg[name] = value
        username = slack.get("username") or opts.get("username")
        if username:
            msg["username"] = str(username)
        icon = str(slack.get("icon") or opts.get("icon") or "")
        if icon:  # an emoji name or an image URL, as Argo CD tells them apart
            msg["icon_url" if icon.startswith(("http://", "https://")) else "icon_emoji"] = icon
        if opts.get("disableUnfurl"):
            msg["unfurl_links"] = msg["unfurl_media"] = False
        policy = str(slack.get("deliveryPolicy") or "Post")
        method = "chat.postMessage"
        if policy in ("PostAndUpdate", "Update") and previous.get("ts"):
            method = "chat.update"
            msg["ts"], msg["channel"] = previous["ts"], previous.get("channel", recipient)
        elif policy == "Update":
            return {}  # nothing to update yet: Argo CD sends nothing either
        api = str(opts.get("apiURL") or DEFAULT_API)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if opts.get("token"):
            headers["Authorization"] = f"Bearer {opts['token']}"
        url = api.rstrip("/") + "/" + method
        _, raw = http(
            self, "POST", url, json.dumps(msg).encode(), headers, context=insecure_context(opts)
        )
        try:
            answer = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            answer = {"ok": False, "error": raw[:200].decode(errors="replace")}
        if not answer.get("ok"):
            raise DeliveryError(self.mask(f"slack {method}: {answer.get('error', answer)}"))
        return {"ts": answer.get("ts", msg.get("ts", "")),
                "channel": answer.get("channel", msg["channel"])}  # fmt: skip
