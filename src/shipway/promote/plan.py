"""A Promotion's steps as one flat list: tasks inlined, aliases given, retry read. Pure: no I/O.

Kargo's rules: a step's alias is its ``as``, else ``step-<index>``
(``task-<index>`` for a step with ``task``); a step with ``task`` is
replaced by the task's steps, each aliased ``<task-step-alias>::<alias>``
(an alias with ``::`` marks a task's step, for ``task.outputs``) and
carrying the task's ``vars`` (the task's
defaults, overridden by the calling step's ``vars``; a task var with no
value and none given is an error). ``retry.errorThreshold`` defaults to 1;
``retry.timeout`` (a Go duration) to 5 minutes for steps that wait.
``problems`` lists what is wrong at once; ``flatten`` raises ``PlanError``.
``expand`` gives the steps a Promotion stores (Kargo expands tasks when it
creates a Promotion: no ``task`` left, task vars folded into each step's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipway.model.kargo import duration_seconds

DEFAULT_TIMEOUT = 300.0
RESERVED = re.compile(r"^(step|task)-\d+$")


class PlanError(ValueError):
    """The steps cannot be run as written (the message says which and why)."""


@dataclass
class FlatStep:
    index: int
    alias: str
    uses: str
    config: dict[str, Any]
    if_: str | None = None
    continue_on_error: bool = False
    error_threshold: int = 1
    timeout: float | None = None
    vars: list[dict[str, Any]] = field(default_factory=list)
    task: str | None = None
    """The alias of the step that called the task this step comes from."""
    task_vars: list[dict[str, Any]] = field(default_factory=list)
    retry: dict[str, Any] = field(default_factory=dict)
    """The ``retry`` as written."""


TaskLookup = Mapping[tuple[str, str], Mapping[str, Any]]
"""``(kind, name) -> task spec`` (``PromotionTask`` in the project, ``ClusterPromotionTask``)."""


def _retry(step: Mapping[str, Any], where: str) -> tuple[int, float | None]:
    retry = step.get("retry") or {}
    threshold = int(retry.get("errorThreshold") or 1)
    timeout = retry.get("timeout")
    try:
        seconds = duration_seconds(str(timeout)) if timeout else None
    except ValueError as exc:
        raise PlanError(f"{where}: retry.timeout: {exc}") from None
    return threshold, seconds


def _task_vars(spec: Mapping[str, Any], given: Sequence[Mapping[str, Any]], where: str,
               name: str) -> list[dict[str, Any]]:  # fmt: skip
    given_names = {v.get("name") for v in given}
    out: list[dict[str, Any]] = []
    for var in spec.get("vars") or []:
        if var.get("name") in given_names:
            continue
        if "value" not in var or var.get("value") is None:
            raise PlanError(f"{where}: task {name!r} needs var {var.get('name')!r}")
        out.append(dict(var))
    return out + [dict(v) for v in given]


def flatten(steps: Sequence[Mapping[str, Any]], tasks: TaskLookup | None = None) -> list[FlatStep]:
    """The steps to run, in order."""
    out: list[FlatStep] = []
    seen: set[str] = set()
    for i, step in enumerate(steps):
        alias = str(step.get("as") or f"{'task' if step.get('task') else 'step'}-{i}")
        where = f"steps[{i}] ({alias})"
        if alias in seen:
            raise PlanError(f"{where}: alias {alias!r} is used twice")
        seen.add(alias)
        task = step.get("task")
        if task:
            out += _inline(step, task, alias, where, tasks or {}, len(out))
            continue
        if not step.get("uses"):
            raise PlanError(f"{where}: a step needs uses or task")
        threshold, timeout = _retry(step, where)
        out.append(FlatStep(
            index=len(out), alias=alias, uses=str(step["uses"]),
            config=dict(step.get("config") or {}), if_=step.get("if"),
            continue_on_error=bool(step.get("continueOnError")),
            error_threshold=threshold, timeout=timeout, vars=list(step.get("vars") or []),
            task=alias.rsplit("::", 1)[0] if "::" in alias else None,
            retry=dict(step.get("retry") or {}),
        ))  # fmt: skip
    return out


def _inline(step: Mapping[str, Any], task: Mapping[str, Any], alias: str, where: str,
            tasks: TaskLookup, start: int) -> list[FlatStep]:  # fmt: skip
    kind = str(task.get("kind") or "PromotionTask")
    name = str(task.get("name") or "")
    spec = tasks.get((kind, name))
    if spec is None:
        raise PlanError(f"{where}: {kind} {name!r} not found")
    tvars = _task_vars(spec, list(step.get("vars") or []), where, name)
    inner = flatten(list(spec.get("steps") or []), {})
    for k, s in enumerate(inner):
        s.index = start + k
        s.alias = f"{alias}::{s.alias}"
        s.task = alias
        s.task_vars = tvars
        if step.get("if") and not s.if_:
            s.if_ = step.get("if")
    return inner


def expand(
    steps: Sequence[Mapping[str, Any]], tasks: TaskLookup | None = None
) -> list[dict[str, Any]]:
    """The steps with every task inlined, as a Promotion's ``spec.steps``."""
    out: list[dict[str, Any]] = []
    for s in flatten(steps, tasks):
        step: dict[str, Any] = {"uses": s.uses}
        if s.task or not RESERVED.match(s.alias):
            step["as"] = s.alias
        if s.if_:
            step["if"] = s.if_
        if s.continue_on_error:
            step["continueOnError"] = True
        if s.retry:
            step["retry"] = dict(s.retry)
        if s.task_vars or s.vars:
            step["vars"] = [*s.task_vars, *s.vars]
        if s.config:
            step["config"] = s.config
        out.append(step)
    return out


def problems(steps: Sequence[Mapping[str, Any]], tasks: TaskLookup | None = None) -> list[str]:
    """What ``flatten`` would refuse, and every step config problem (``steps.config``)."""
    from shipway.promote.steps.config import validate_step_config

    try:
        flat = flatten(steps, tasks)
    except PlanError as exc:
        return [str(exc)]
    return [
        f"step {s.alias} ({s.uses}): {p}"
        for s in flat
        for p in validate_step_config(s.uses, s.config)
    ]
