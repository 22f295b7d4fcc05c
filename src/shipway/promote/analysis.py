"""Argo Rollouts' analysis rules as data: one AnalysisRun's metrics, measurements and phase.

Pure: no I/O. The verification engine (``promote.verification``) asks this
module what is due, hands it each measurement a provider took, and stores
what it returns. Argo Rollouts' semantics:

- ``build_run``: the templates' metrics (and their ``args``) merged into one
  run spec, the Stage's ``verification.args`` over the templates' defaults,
  ``{{args.NAME}}`` substituted everywhere (an argument with no value is an
  error naming it);
- ``evaluate``: a measured value against ``successCondition`` /
  ``failureCondition`` (expr-lang, ``result`` bound to the value, with
  ``asInt``, ``asFloat``, ``isNaN``, ``isInf``, ``isNil``, ``default``):
  neither: Successful; only success: Failed unless it holds; only failure:
  Successful unless it holds; both: Failed, Successful, else Inconclusive; a
  condition that errors or is not a boolean: Error;
- ``record``: a finished measurement onto its metric result (``count`` does
  not count errors; ``consecutiveError`` resets on any other phase; at most
  ``measurementRetention`` measurements kept, 10 by default);
- ``metric_phase``: Failed when ``failed > failureLimit`` (default 0),
  Inconclusive when ``inconclusive > inconclusiveLimit`` (default 0), Error
  when ``consecutiveError > consecutiveErrorLimit`` (default 4); Successful
  once ``count`` (``effective_count``) measurements were taken or
  ``consecutiveSuccessLimit`` (when > 0) successes in a row; else Running;
- ``due``: when a metric's next measurement is due (``initialDelay`` after
  the run started for the first, then ``interval`` after the last finished;
  an errored measurement is retried after ``interval``, or 10 s without one);
- ``run_phase``: the run's phase: the worst completed phase of a metric that
  is not a dry run ends the run; all Successful: Successful; else Running.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any

from shipway.model.kargo import duration_seconds
from shipway.model.rollouts import Metric
from shipway.templates import exprlang
from shipway.templates.errors import ExprError

ERROR_RETRY = 10.0
"""Seconds before an errored measurement is retried when the metric has no interval."""
HISTORY_LIMIT = 10
"""Measurements kept per metric unless ``measurementRetention`` says otherwise."""
_WORSE = ("Successful", "Running", "Pending", "Inconclusive", "Error", "Failed")
_ARG = re.compile(r"\{\{\s*args\.([\w.-]+)\s*\}\}")
SecretLookup = Callable[[str, str], str | None]


class AnalysisError(ValueError):
    """A run that cannot be built (a missing argument, an unknown template field)."""


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- building a run -------------------------------------------------------------------------


def _substitute(value: Any, args: dict[str, str]) -> Any:
    if isinstance(value, str):

        def one(m: re.Match[str]) -> str:
            if m[1] not in args:
                raise AnalysisError(f"argument {m[1]!r} is used but not declared")
            return args[m[1]]

        return _ARG.sub(one, value)
    if isinstance(value, list):
        return [_substitute(v, args) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, args) for k, v in value.items()}
    return value


def _intish(metric: dict[str, Any]) -> dict[str, Any]:
    """Count-like fields that were ``{{args.x}}`` become ints once substituted."""
    for key in ("count", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit",
                "consecutiveSuccessLimit"):  # fmt: skip
        v = metric.get(key)
        if isinstance(v, str):
            try:
                metric[key] = int(v)
            except ValueError:
                raise AnalysisError(f"metric {metric.get('name')!r}: {key} {v!r} is not an "
                                    "integer") from None  # fmt: skip
    return metric


def build_run(
    templates: list[dict[str, Any]],
    stage_args: list[dict[str, Any]],
    secret: SecretLookup | None = None,
) -> dict[str, Any]:
    """An AnalysisRun spec from template specs and the Stage's ``verification.args``."""
    declared: dict[str, dict[str, Any]] = {}
    metrics: list[dict[str, Any]] = []
    dry_run: list[dict[str, Any]] = []
    retention: list[dict[str, Any]] = []
    for spec in templates:
        for arg in spec.get("args") or []:
            if arg["name"] not in declared or "value" in arg or "valueFrom" in arg:
                declared[arg["name"]] = dict(arg)
        metrics += [dict(m) for m in spec.get("metrics") or []]
        dry_run += list(spec.get("dryRun") or [])
        retention += list(spec.get("measurementRetention") or [])
    names = [m["name"] for m in metrics]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise AnalysisError(f"two templates define metric {', '.join(dupes)}")
    for arg in stage_args:
        declared[arg["name"]] = {"name": arg["name"], "value": str(arg.get("value", ""))}
    values: dict[str, str] = {}
    for name, arg in declared.items():
        if arg.get("value") is not None:
            values[name] = str(arg["value"])
            continue
        ref = (arg.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            found = secret(ref["name"], ref["key"]) if secret else None
            if found is None:
                raise AnalysisError(f"argument {name!r}: Secret {ref['name']!r} has no key "
                                    f"{ref['key']!r}")  # fmt: skip
            values[name] = found
            continue
        if (arg.get("valueFrom") or {}).get("fieldRef"):
            raise AnalysisError(f"argument {name!r}: fieldRef is not supported in verification")
        raise AnalysisError(f"argument {name!r} has no value (give it in the Stage's "
                            "verification.args)")  # fmt: skip
    resolved = [_intish(_substitute(m, values)) for m in metrics]
    for m in resolved:
        Metric.model_validate(m)
    spec_out: dict[str, Any] = {
        "metrics": resolved,
        "args": [{"name": n, "value": "***" if (declared[n].get("valueFrom")) else v}
                 for n, v in values.items()],
    }  # fmt: skip
    if dry_run:
        spec_out["dryRun"] = dry_run
    if retention:
        spec_out["measurementRetention"] = retention
    return spec_out


# --- one measurement ------------------------------------------------------------------------


def _as_float(v: Any) -> float:
    return float(v)


def _default(v: Any, d: Any) -> Any:
    return d if v is None else v


FUNCS: dict[str, Callable[..., Any]] = {
    "asInt": lambda v: int(float(v)) if isinstance(v, str) and "." in v else int(v),
    "asFloat": _as_float,
    "isNaN": lambda v: isinstance(v, float) and math.isnan(v),
    "isInf": lambda v: isinstance(v, float) and math.isinf(v),
    "isNil": lambda v: v is None,
    "default": _default,
}


def _condition(expr: str, value: Any) -> bool:
    out = exprlang.evaluate(expr, {"result": value}, funcs=FUNCS)
    if not isinstance(out, bool):
        raise ExprError(f"expected bool, but got {type(out).__name__}", source=expr, pos=0)
    return out


def evaluate(metric: Metric, value: Any) -> tuple[str, str]:
    """The phase of a measurement with ``value`` (and the message when it is an Error)."""
    succ, fail = metric.success_condition, metric.failure_condition
    try:
        ok = _condition(succ, value) if succ else False
        bad = _condition(fail, value) if fail else False
    except (ExprError, TypeError, ValueError, KeyError, IndexError) as exc:
        return "Error", f"condition: {exc}"
    if not succ and not fail:
        return "Successful", ""
    if succ and not fail:
        bad = not ok
    elif fail and not succ:
        ok = not bad
    if bad:
        return "Failed", ""
    return ("Successful", "") if ok else ("Inconclusive", "")


def value_text(value: Any) -> str:
    """A measured value as Argo Rollouts stores it: JSON, or the plain string."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(value)


# --- a metric's results ---------------------------------------------------------------------


def new_result(name: str, dry_run: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "phase": "Pending", "measurements": [], "count": 0,
                           "successful": 0, "failed": 0, "inconclusive": 0, "error": 0,
                           "consecutiveError": 0, "consecutiveSuccess": 0}  # fmt: skip
    if dry_run:
        out["dryRun"] = True
    return out


def record(result: dict[str, Any], measurement: dict[str, Any], keep: int = HISTORY_LIMIT) -> None:
    """Count a finished measurement (it replaces a Running one at the end, if there is one)."""
    ms = result["measurements"]
    if ms and ms[-1].get("phase") == "Running":
        ms[-1] = measurement
    else:
        ms.append(measurement)
    del ms[: max(0, len(ms) - keep)]
    phase = measurement["phase"]
    if phase == "Error":
        result["error"] += 1
        result["consecutiveError"] += 1
        result["consecutiveSuccess"] = 0
        return
    result["count"] += 1
    result["consecutiveError"] = 0
    key = {"Successful": "successful", "Failed": "failed", "Inconclusive": "inconclusive"}[phase]
    result[key] += 1
    result["consecutiveSuccess"] = result["consecutiveSuccess"] + 1 if phase == "Successful" else 0


def _limit(value: Any) -> int:
    return int(value)


def metric_phase(metric: Metric, result: dict[str, Any]) -> tuple[str, str]:
    """The metric's phase and, when it ended badly, Argo Rollouts' reason."""
    ms = result["measurements"]
    if not ms and result["count"] == 0 and result["error"] == 0:
        return "Pending", ""
    if ms and ms[-1].get("phase") == "Running":
        return "Running", ""
    lim = metric.limits()
    fail_l, inc_l = _limit(lim["failureLimit"]), _limit(lim["inconclusiveLimit"])
    err_l, succ_l = _limit(lim["consecutiveErrorLimit"]), _limit(lim["consecutiveSuccessLimit"])
    name = metric.name
    if fail_l >= 0 and result["failed"] > fail_l:
        return "Failed", (f'Metric "{name}" assessed Failed due to failed ({result["failed"]}) '
                          f"> failureLimit ({fail_l})")  # fmt: skip
    if inc_l >= 0 and result["inconclusive"] > inc_l:
        n = result["inconclusive"]
        return "Inconclusive", (f'Metric "{name}" assessed Inconclusive due to inconclusive '
                                f"({n}) > inconclusiveLimit ({inc_l})")  # fmt: skip
    if err_l >= 0 and result["consecutiveError"] > err_l:
        last = ms[-1].get("message", "") if ms else ""
        return "Error", (f'Metric "{name}" assessed Error due to consecutiveErrors '
                         f'({result["consecutiveError"]}) > consecutiveErrorLimit ({err_l})'
                         + (f": {last}" if last else ""))  # fmt: skip
    if succ_l > 0 and result["consecutiveSuccess"] >= succ_l:
        return "Successful", ""
    count = metric.effective_count
    if count is not None and result["count"] >= int(count):
        return "Successful", ""
    return "Running", ""


def due(metric: Metric, result: dict[str, Any], started: dt.datetime) -> dt.datetime | None:
    """When the metric's next measurement should start (None: it needs no more)."""
    phase, _ = metric_phase(metric, result)
    if phase not in ("Pending", "Running"):
        return None
    ms = result["measurements"]
    if ms and ms[-1].get("phase") == "Running":
        return None  # a measurement under way: the engine resumes it
    if not ms and result["count"] == 0 and result["error"] == 0:
        delay = duration_seconds(metric.initial_delay) if metric.initial_delay else 0.0
        return started + dt.timedelta(seconds=delay)
    last = parse_time(ms[-1].get("finishedAt")) if ms else None
    last = last or started
    if ms and ms[-1].get("phase") == "Error" and not metric.interval:
        return last + dt.timedelta(seconds=ERROR_RETRY)
    interval = duration_seconds(metric.interval) if metric.interval else 0.0
    return last + dt.timedelta(seconds=interval)


def run_phase(
    metrics: list[Metric], results: dict[str, dict[str, Any]], dry_run: set[str]
) -> tuple[str, str]:
    """The run's phase and message from its metrics' results."""
    worst, message = "Successful", ""
    everything_done = True
    for metric in metrics:
        res = results.get(metric.name)
        phase, why = metric_phase(metric, res) if res else ("Pending", "")
        if phase in ("Pending", "Running"):
            everything_done = False
            continue
        if metric.name in dry_run:
            continue
        if _WORSE.index(phase) > _WORSE.index(worst):
            worst, message = phase, why
    if worst != "Successful":
        return worst, message
    return ("Successful", "") if everything_done else ("Running", "")


def dry_run_names(spec: dict[str, Any]) -> set[str]:
    names = {str(d.get("metricName")) for d in spec.get("dryRun") or []}
    if "*" in names:
        return {str(m["name"]) for m in spec.get("metrics") or []}
    return names


def retention(spec: dict[str, Any], metric: str) -> int:
    for r in spec.get("measurementRetention") or []:
        if r.get("metricName") in (metric, "*"):
            return int(r.get("limit", HISTORY_LIMIT)) or HISTORY_LIMIT
    return HISTORY_LIMIT


def summary(results: list[dict[str, Any]], dry: set[str]) -> dict[str, int]:
    out = {"count": 0, "successful": 0, "failed": 0, "inconclusive": 0, "error": 0}
    for r in results:
        if r["name"] in dry:
            continue
        out["count"] += 1
        key = {"Successful": "successful", "Failed": "failed", "Inconclusive": "inconclusive",
               "Error": "error"}.get(r["phase"])  # fmt: skip
        if key:
            out[key] += 1
    return out


def measurement(phase: str, started: dt.datetime, finished: dt.datetime | None, *,
                value: str = "", message: str = "",
                metadata: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"phase": phase, "startedAt": _iso(started)}
    if finished is not None:
        out["finishedAt"] = _iso(finished)
    if value:
        out["value"] = value
    if message:
        out["message"] = message
    if metadata:
        out["metadata"] = metadata
    return out
