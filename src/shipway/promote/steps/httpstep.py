"""The http step: one request, judged by Kargo's success and failure expressions.

The expressions and each output's ``fromExpression`` see ``response``:
``status`` (int), ``headers`` (name -> first value, lower-case names),
``header(name)`` and ``body``: parsed as ``responseContentType`` says, else
as the answer's ``Content-Type`` (JSON, YAML for ``application/yaml``,
``text/yaml`` and ``application/x-yaml``, text for ``text/plain``), falling
back to JSON and then the text, as Kargo does. With no
expressions a 2xx answer succeeds and anything else fails.
``failureExpression`` true fails it for good; ``successExpression`` true
succeeds; when a success expression is given and neither is true the step
is Running and is asked again (until its retry timeout), as Kargo does.
A transport error is a retryable error. ``errorExpression``, evaluated only
when ``failureExpression`` holds, gives the failure's message when it yields a
non-empty string. ``bodyFromFile`` sends a work-directory file; ``proxy``
sends the request through that proxy.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import yaml

from shipway.model import bounded
from shipway.model import kargo_step_configs as c
from shipway.model.errors import InputError
from shipway.model.kargo import duration_seconds
from shipway.promote.expressions import expression
from shipway.promote.steps.base import StepEnv, StepError, StepFailed, StepResult
from shipway.templates.errors import ExprError

_YAML = ("application/yaml", "text/yaml", "application/x-yaml")


def _body(resp: httpx.Response, forced: str | None) -> Any:
    kind = forced or resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "text/plain":
        return resp.text
    if kind in _YAML:
        try:
            bounded.check_yaml(resp.text, "http response")
            return yaml.safe_load(resp.text)
        except InputError as exc:  # a billion-laughs or too deep answer: not read as data
            raise StepFailed(f"response body: {exc}") from None
        except yaml.YAMLError:
            return resp.text
    try:
        return resp.json()
    except (ValueError, json.JSONDecodeError):
        return resp.text


def _response(resp: httpx.Response, forced: str | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    body = _body(resp, forced)
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
    content = cfg.body.encode() if cfg.body is not None else None
    if cfg.body_from_file is not None:
        try:
            content = env.path(cfg.body_from_file).read_bytes()
        except OSError as exc:
            raise StepFailed(f"bodyFromFile {cfg.body_from_file!r}: {exc.strerror}") from None
    try:
        with httpx.Client(verify=not cfg.insecure_skip_tls_verify, timeout=timeout,
                          proxy=cfg.proxy) as client:  # fmt: skip
            resp = client.request(
                cfg.method.upper(),
                cfg.url,
                headers=[(h.name, h.value) for h in cfg.headers],
                params=[(q.name, q.value) for q in cfg.query_params],
                content=content,
            )
    except httpx.HTTPError as exc:
        raise StepError(f"{cfg.method.upper()} {cfg.url}: {exc}") from None
    renv, funcs = _response(resp, cfg.response_content_type)
    verdict = _judge(cfg, renv, funcs, resp.status_code)
    if verdict == "Failed":
        detail = _error_message(cfg, renv, funcs) if cfg.failure_expression else ""
        raise StepFailed(f"{cfg.method.upper()} {cfg.url}: HTTP {resp.status_code} judged a "
                         f"failure{': ' + detail if detail else ''}")  # fmt: skip
    if verdict == "Running":
        return StepResult("Running", message=f"HTTP {resp.status_code}: success not met yet")
    outputs: dict[str, Any] = {}
    for out in cfg.outputs:
        try:
            outputs[out.name] = expression(out.from_expression, renv, funcs)
        except ExprError as exc:
            raise StepFailed(f"output {out.name}: {exc}") from None
    return StepResult(output=outputs)


def _error_message(cfg: c.HTTP, env: dict[str, Any], funcs: dict[str, Any]) -> str:
    """``errorExpression``'s message, "" when unset, empty, not a string or failing."""
    if not cfg.error_expression:
        return ""
    try:
        out = expression(cfg.error_expression, env, funcs)
    except ExprError:
        return ""
    return out if isinstance(out, str) else ""


RUNNERS: dict[str, Any] = {"http": http}
