"""The ``web`` provider: one HTTP request, its JSON answer narrowed by ``jsonPath``.

As Argo Rollouts does: ``method`` (GET, POST, PUT), ``headers``, ``body`` or
``jsonBody``, ``timeoutSeconds`` (default 10), ``insecure``; a response that
is not 2xx is an Error naming its code; the body must be JSON (a plain body
is kept as text when ``jsonPath`` is the default ``{$}``); the JSONPath
(kubectl's dialect, ``shipway.templates.jsonpath``) picks the value: one
result is that value, several are a list. Touches the network only.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from shipway.model.rollouts import Metric
from shipway.promote.providers import Context, Outcome
from shipway.templates import jsonpath
from shipway.templates.errors import JSONPathError


def pick(body: str, path: str) -> Any:
    """The value ``path`` selects in a JSON ``body`` (ValueError when it cannot)."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        if path in ("{$}", "{$.}", ""):
            return body
        raise ValueError(f"the response is not JSON: {body[:120]!r}") from None
    try:
        found = jsonpath.compile(path).find(data)
    except JSONPathError as exc:
        raise ValueError(f"jsonPath {path}: {exc}") from None
    values = [v for group in found for v in group]
    if not values:
        raise ValueError(f"jsonPath {path} found nothing in the response")
    return values[0] if len(values) == 1 else values


class WebProvider:
    def start(self, metric: Metric, ctx: Context) -> Outcome:
        web = metric.provider.web
        assert web is not None
        headers = {h.key: h.value for h in web.headers}
        content: bytes | None = None
        if web.json_body is not None:
            content = json.dumps(web.json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif web.body:
            content = web.body.encode()
        timeout = float(web.timeout_seconds or 10)
        try:
            with httpx.Client(verify=not web.insecure, timeout=timeout) as client:
                resp = client.request(web.method, web.url, headers=headers, content=content)
        except httpx.TimeoutException:
            return Outcome.error(f"{web.method} {web.url}: no answer within {timeout:g}s")
        except httpx.HTTPError as exc:
            return Outcome.error(f"{web.method} {web.url}: {exc}")
        if not 200 <= resp.status_code < 300:
            return Outcome.error(f"received non 2xx response code: {resp.status_code}")
        try:
            return Outcome(value=pick(resp.text, web.json_path))
        except ValueError as exc:
            return Outcome.error(str(exc))

    def resume(self, metric: Metric, metadata: dict[str, str], ctx: Context) -> Outcome:
        return self.start(metric, ctx)
