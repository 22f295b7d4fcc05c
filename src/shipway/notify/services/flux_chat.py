"""Flux's ``webex`` and ``telegram`` Provider types, as Flux's providers page describes them.

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

Through the Provider's proxy (and TLS for webex). Touches the network only.
"""

from __future__ import annotations

from typing import Any

from shipway.notify.flux import wire
from shipway.notify.services.base import DeliveryError
from shipway.notify.services.flux_providers import _Flux

TELEGRAM = "https://api.telegram.org"
_SPECIAL = "\\.-_[]()~>`#+=|{}!*"


def _meta(event: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((str(k), str(v)) for k, v in (event.get("metadata") or {}).items())


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
        lines += [f">**{k}**: {v}" for k, v in _meta(event)]
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
        meta = "".join(f"\\- *{escape(k)}*: {escape(v)}\n" for k, v in _meta(event))
        text = f"*{escape(heading)}*\n{escape(str(event.get('message', '')))}\n{meta}"
        chat, sep, thread = channel.partition(":")
        body = {"chat_id": chat, "text": text, "parse_mode": "MarkdownV2"}
        if sep:
            body["message_thread_id"] = thread
        api = str(opts.get("apiURL") or TELEGRAM).rstrip("/")
        status, _ = self.post(f"{api}/bot{token}/sendMessage", body, {})
        return {"status": status}


TYPES = {"flux:webex": Webex, "flux:telegram": Telegram}
