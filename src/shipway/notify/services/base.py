"""The interface every notification service implements, and its error.

``send(payload, recipient, previous)`` delivers one rendered notification
(``evaluate.render``'s dict) and returns what the service answered that later
messages may need (Slack's ``channel`` and ``ts``); ``previous`` is that
answer for the last message of the same group. A refusal or an unreachable
service raises ``DeliveryError`` carrying the service's answer, with the
service's secret values masked.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from typing import Any

from shipway.model.errors import ExternalError
from shipway.notify.config import ServiceConfig

TIMEOUT = 10.0


class DeliveryError(ExternalError):
    """A service refused or could not be reached; the message is the service's answer."""


class Service:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config

    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def mask(self, text: str) -> str:
        for secret in sorted(self.config.secret_values, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def insecure_context(opts: Any) -> ssl.SSLContext | None:
    """A context that accepts any certificate when the service says ``insecureSkipVerify``
    (Argo CD's webhook and slack option), else None (the system's trust)."""
    flag = opts.get("insecureSkipVerify") if hasattr(opts, "get") else None
    if not (flag is True or str(flag).lower() == "true"):
        return None
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


def http(
    svc: Service,
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    timeout: float = TIMEOUT,
    context: ssl.SSLContext | None = None,
    proxy: str = "",
) -> tuple[int, bytes]:
    """One HTTP request (``context``: the TLS client context, default the system's;
    ``proxy``: an HTTP proxy URL, credentials in it, else the environment's, as Go's client);
    a status of 400 or more or no answer is a ``DeliveryError``."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else None),
        urllib.request.HTTPSHandler(context=context),
    )
    try:
        with opener.open(req, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        answer = exc.read()[:2000].decode(errors="replace")
        raise DeliveryError(svc.mask(f"{method} {url}: HTTP {exc.code}: {answer}")) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(svc.mask(f"{method} {url}: {reason}")) from None
