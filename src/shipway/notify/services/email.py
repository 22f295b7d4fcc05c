"""Email over SMTP (``smtplib``): ``host``, ``port``, ``from``, ``username``/``password``
(login when set), ``html``; on port 465 TLS from the start (SMTPS, Gmail's form in Argo CD's
email page), elsewhere STARTTLS when the server offers it; ``insecure_skip_verify`` accepts
any certificate. The subject is the template's ``email.subject``."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from shipway.notify.services.base import TIMEOUT, DeliveryError, Service

SMTPS_PORT = 465


def _connect(host: str, port: int, ctx: ssl.SSLContext) -> smtplib.SMTP:
    """Port 465 is TLS from the first byte (SMTPS), as Argo CD's mail dialer takes it."""
    if port == SMTPS_PORT:
        return smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=ctx)
    return smtplib.SMTP(host, port, timeout=TIMEOUT)


class EmailService(Service):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        msg = EmailMessage()
        msg["From"] = str(opts["from"])
        msg["To"] = recipient
        msg["Subject"] = str((payload.get("email") or {}).get("subject", ""))
        body = str(payload.get("message", ""))
        if opts.get("html"):
            msg.set_content(body, subtype="html")
        else:
            msg.set_content(body)
        host, port = str(opts["host"]), int(opts.get("port", 25))
        ctx = ssl.create_default_context()
        if opts.get("insecure_skip_verify"):
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        try:
            with _connect(host, port, ctx) as smtp:
                smtp.ehlo()
                if port != SMTPS_PORT and smtp.has_extn("starttls"):
                    smtp.starttls(context=ctx)
                    smtp.ehlo()
                if opts.get("username"):
                    smtp.login(str(opts["username"]), str(opts.get("password", "")))
                refused = smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(self.mask(f"smtp {host}:{port}: {exc}")) from None
        if refused:
            raise DeliveryError(self.mask(f"smtp {host}:{port} refused {refused}"))
        return {}
