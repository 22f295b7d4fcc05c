"""Email over SMTP (``smtplib``): ``host``, ``port``, ``from``, ``username``/``password``
(login when set), ``html``; STARTTLS when the server offers it, unless ``insecure_skip_verify``
is false and the host is loopback. The subject is the template's ``email.subject``."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from shipway.notify.services.base import TIMEOUT, DeliveryError, Service


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
        try:
            with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    ctx = ssl.create_default_context()
                    if opts.get("insecure_skip_verify"):
                        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
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
