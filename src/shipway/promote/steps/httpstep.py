"""The http step: one request, judged by Kargo's success and failure expressions.

The expressions and each output's ``fromExpression`` see ``response``:
``status`` (int), ``headers`` (name -> first value, lower-case names),
``header(name)`` and ``body`` (the parsed JSON, else the text). With no
expressions a 2xx answer succeeds and anything else fails.
``failureExpression`` true fails it for good; ``successExpression`` true
succeeds; when a success expression is given and neither is true the step
is Running and is asked again (until its retry timeout), as Kargo does.
A transport error is a retryable error.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from shipway.model import kargo_step_configs as c
from shipway.model.kargo import duration_seconds
from shipway.promote.expressions import expression
from shipway.promote.steps.base import StepEnv, StepError, StepFailed, StepResult
from shipway.templates.errors import ExprError


def _response(resp: httpx.Response) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        body: Any = resp.json()
    except (ValueError, json.JSONDecodeError):
        body = resp.text
    headers = {k.lower(): v for k, v in resp.headers.items()}
    env = {"response": {"status": resp.status_code, "headers": headers, "body": body}}
    funcs = {"header": lambda name: headers.get(str(name).lower(), "")}
    return env, funcs


def _judge(cfg: c.HTTP, env: dict[str, Any], funcs: dict[str, Any], status: int) -> str:
    def holds(text: str | None, what: str) -> bool:
        if not text:
            return False
        try:
            out = expression(text, env, funcs)
        except ExprError as exc:
            raise StepFailed(f"{what}: {exc}") from None
        if not isinstance(out, bool):
            raise StepFailed(f"{what} must give a bool, got {out!r}")
        return out

    if not cfg.success_expression and not cfg.failure_expression:
        return "Succeeded" if 200 <= status < 300 else "Failed"
    if holds(cfg.failure_expression, "failureExpression"):
        return "Failed"
    if holds(cfg.success_expression, "successExpression"):
        return "Succeeded"
    return "Running" if cfg.success_expression else "Succeeded"


def http(env: StepEnv, cfg: c.HTTP) -> StepResult:
    try:
        timeout = duration_seconds(cfg.timeout)
    except ValueError as exc:
        raise StepFailed(f"timeout: {exc}") from None
    try:
        with httpx.Client(verify=not cfg.insecure_skip_tls_verify, timeout=timeout) as client:
            resp = client.request(
                cfg.method.upper(),
                cfg.url,
                headers=[(h.name, h.value) for h in cfg.headers],
                params=[(q.name, q.value) for q in cfg.query_params],
                content=cfg.body.encode() if cfg.body is not None else None,
            )
    except httpx.HTTPError as exc:
        raise StepError(f"{cfg.method.upper()} {cfg.url}: {exc}") from None
    renv, funcs = _response(resp)
    verdict = _judge(cfg, renv, funcs, resp.status_code)
    if verdict == "Failed":
        raise StepFailed(
            f"{cfg.method.upper()} {cfg.url}: HTTP {resp.status_code} judged a failure"
        )
    if verdict == "Running":
        return StepResult("Running", message=f"HTTP {resp.status_code}: success not met yet")
    outputs: dict[str, Any] = {}
    for out in cfg.outputs:
        try:
            outputs[out.name] = expression(out.from_expression, renv, funcs)
        except ExprError as exc:
            raise StepFailed(f"output {out.name}: {exc}") from None
    return StepResult(output=outputs)


RUNNERS: dict[str, Any] = {"http": http}
