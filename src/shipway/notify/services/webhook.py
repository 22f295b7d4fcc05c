"""Argo CD's generic webhook service: ``url`` (+ ``/`` + the template's ``path``), any
``method``, ``headers``, ``basicAuth``, ``insecureSkipVerify``; the body is the template's
``body``."""

from __future__ import annotations

import base64
from typing import Any

from shipway.notify.services.base import Service, http, insecure_context


class WebhookService(Service):
    def send(
        self, payload: dict[str, Any], recipient: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        opts = self.config.options
        hook = payload.get("webhook") or {}
        method = str(hook.get("method") or "GET").upper()
        path = str(hook.get("path") or "")
        url = str(opts["url"])
        if path:  # one slash between them, as Argo CD joins them (``webhook/x`` or ``/x``)
            url = url.rstrip("/") + "/" + path.lstrip("/")
        headers = {str(h["name"]): str(h.get("value", "")) for h in opts.get("headers") or []}
        auth = opts.get("basicAuth")
        if auth:
            pair = f"{auth.get('username', '')}:{auth.get('password', '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if payload.get("suppressed"):  # a rate limit held others: this one stands for them
            headers["X-Shipway-Suppressed"] = str(payload["suppressed"])
        body = hook.get("body")
        data = str(body).encode() if body is not None and method not in ("GET", "HEAD") else None
        status, _ = http(self, method, url, data, headers, context=insecure_context(opts))
        return {"status": status}
