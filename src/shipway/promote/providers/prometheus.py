"""The ``prometheus`` provider: one instant query against Prometheus' HTTP API.

``GET <address>/api/v1/query?query=...`` with the metric's ``headers`` and
``timeout`` (seconds, default 30 as the client waits). As Argo Rollouts
hands the result to the conditions: a vector is a list of its sample values
(floats, ``result[0]``), a scalar is a float, a string is the string; a
matrix needs a range query, which is refused at apply. An error status from
Prometheus is an Error with its ``error`` text. Touches the network only.
"""

from __future__ import annotations

from typing import Any

import httpx

from shipway.model.rollouts import Metric
from shipway.promote.providers import Context, Outcome


def _num(text: Any) -> float:
    return float(text)


def result_value(data: dict[str, Any]) -> Any:
    """The query's ``data`` as the conditions see it (ValueError for what is not handled)."""
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "vector":
        return [_num(s["value"][1]) for s in result or []]
    if kind == "scalar":
        return _num(result[1])
    if kind == "string":
        return str(result[1])
    raise ValueError(f"prometheus result type {kind!r} is not supported (use an instant query)")


class PrometheusProvider:
    def start(self, metric: Metric, ctx: Context) -> Outcome:
        prom = metric.provider.prometheus
        assert prom is not None
        url = prom.address.rstrip("/") + "/api/v1/query"
        headers = {h.key: h.value for h in prom.headers}
        timeout = float(prom.timeout or 30)
        try:
            with httpx.Client(verify=not prom.insecure, timeout=timeout) as client:
                resp = client.get(url, params={"query": prom.query}, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome.error(f"prometheus {prom.address}: {exc}")
        try:
            body = resp.json()
        except ValueError:
            return Outcome.error(f"prometheus answered {resp.status_code} without JSON")
        if body.get("status") != "success":
            return Outcome.error(
                f"prometheus: {body.get('errorType', '')}: {body.get('error', '')}"
            )
        try:
            return Outcome(value=result_value(body.get("data") or {}))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return Outcome.error(f"prometheus result: {exc}")

    def resume(self, metric: Metric, metadata: dict[str, str], ctx: Context) -> Outcome:
        return self.start(metric, ctx)
