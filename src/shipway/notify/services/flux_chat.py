"""Flux's ``webex``, ``telegram``, ``matrix`` and ``lark`` Provider types, as Flux's
providers page describes them.

- ``webex``: a message POSTed to the ``address`` (``https://webexapis.com/v1/messages``)
  with the Secret's ``token`` as Bearer: ``roomId`` the ``channel``, ``markdown`` a line
  ``✅`` (or ``💣`` for an error) ``**<kind>/<name>.<namespace>**``, the message, and a
  ``>**key**: value`` line per metadata entry.
- ``telegram``: the Bot API's ``sendMessage`` (``https://api.telegram.org/bot<token>``, the
  Secret's ``token``; the ``address`` is ignored, as in Flux; ``shipway.dev/api-url`` for
  another): ``chat_id`` the ``channel`` (``<chat>:<topic>`` also sets
  ``message_thread_id``), ``parse_mode`` ``MarkdownV2``, the text a bold heading (``💫``, or
  ``🚨`` for an error, ``<kind>/<name>/<namespace>``), the message and the metadata, with
  MarkdownV2's special characters escaped.
- ``matrix``: ``PUT <address>/_matrix/client/r0/rooms/<channel>/send/m.room.message/<txn>``
  (the homeserver, the room id; the transaction id the SHA-1 of the event, so a resend is
  the same message) with the Secret's ``token`` as Bearer: an ``m.text`` of a heading
  (``💫``/``🚨`` ``<kind>/<name>.<namespace>``), the message and ``- key: value`` lines.
- ``lark``: an ``interactive`` card to the ``address``: its header the heading (template
  ``turquoise``, ``red`` for an error), a ``lark_md`` text of the bold message and the
  metadata.

Through the Provider's proxy (and TLS for webex). Touches the network only.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from typing import Any

from shipway.notify.flux import wire
from shipway.notify.services.base import DeliveryError, http
from shipway.notify.services.flux_providers import _Flux, sorted_metadata

TELEGRAM = "https://api.telegram.org"
_SPECIAL = "\\.-_[]()~>`#+=|{}!*"


def escape(text: str) -> str:
    """MarkdownV2's special characters escaped with ``\\``."""
    return "".join(f"\\{c}" if c in _SPECIAL else c for c in text)


class Webex(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        event = wire(payload)
        obj = event.get("involvedObject") or {}
        emoji = "💣" if event.get("severity") == "error" else "✅"
        lines = [f"{emoji} **{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}."
                 f"{obj.get('namespace', '')}**", str(event.get("message", ""))]  # fmt: skip
        lines += [f">**{k}**: {v}" for k, v in sorted_metadata(event)]
        body = {"roomId": str(self.config.options.get("channel") or ""),
                "markdown": "\n".join(lines) + "\n"}  # fmt: skip
        token = str(self.config.options.get("token") or "")
        status, _ = self.post(self.address, body, {"Authorization": f"Bearer {token}"})
        return {"status": status}


class Telegram(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        channel, token = str(opts.get("channel") or ""), str(opts.get("token") or "")
        if not channel:
            raise DeliveryError(f"provider {self.config.name}: empty Telegram channel")
        if not token:
            raise DeliveryError(f"provider {self.config.name}: empty Telegram token (the "
                                "Secret's token)")  # fmt: skip
        event = wire(payload)
        obj = event.get("involvedObject") or {}
        emoji = "🚨" if event.get("severity") == "error" else "💫"
        heading = (f"{emoji} {str(obj.get('kind', '')).lower()}/{obj.get('name', '')}/"
                   f"{obj.get('namespace', '')}")  # fmt: skip
        meta = "".join(f"\\- *{escape(k)}*: {escape(v)}\n" for k, v in sorted_metadata(event))
        text = f"*{escape(heading)}*\n{escape(str(event.get('message', '')))}\n{meta}"
        chat, sep, thread = channel.partition(":")
        body = {"chat_id": chat, "text": text, "parse_mode": "MarkdownV2"}
        if sep:
            body["message_thread_id"] = thread
        api = str(opts.get("apiURL") or TELEGRAM).rstrip("/")
        status, _ = self.post(f"{api}/bot{token}/sendMessage", body, {})
        return {"status": status}


def _heading(event: dict[str, Any]) -> str:
    obj = event.get("involvedObject") or {}
    emoji = "🚨" if event.get("severity") == "error" else "💫"
    return (f"{emoji} {str(obj.get('kind', '')).lower()}/{obj.get('name', '')}."
            f"{obj.get('namespace', '')}")  # fmt: skip


class Matrix(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        event = wire(payload)
        txn = hashlib.sha1(json.dumps(event, sort_keys=True).encode()).hexdigest()
        room = urllib.parse.quote(str(opts.get("channel") or ""), safe="")
        url = f"{self.address.rstrip('/')}/_matrix/client/r0/rooms/{room}/send/m.room.message/{txn}"
        meta = "".join(f"- {k}: {v}\n" for k, v in sorted_metadata(event))
        body = {"body": f"{_heading(event)}\n{event.get('message', '')}\n{meta}",
                "msgtype": "m.text"}  # fmt: skip
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {opts.get('token') or ''}"}  # fmt: skip
        status, _ = http(self, "PUT", url, json.dumps(body).encode(), headers,
                         timeout=self.timeout, context=self.tls, proxy=self.proxy)  # fmt: skip
        return {"status": status, "txn": txn}


class Lark(_Flux):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        event = wire(payload)
        meta = "".join(f"{k}: {v}\n" for k, v in sorted_metadata(event))
        text = f"**{event.get('message', '')}**\n\n{meta}"
        color = "red" if event.get("severity") == "error" else "turquoise"
        card = {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": _heading(event)},
                       "template": color},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": text}}],
        }  # fmt: skip
        status, _ = self.post(self.address, {"msg_type": "interactive", "card": card}, {})
        return {"status": status}


TYPES = {"flux:webex": Webex, "flux:telegram": Telegram, "flux:matrix": Matrix,
         "flux:lark": Lark}  # fmt: skip
