"""Kargo's promotion step envelope, variables and task specs (``kargo.akuity.io/v1alpha1``).

Public names (stable; the steps and verify helpers build on them):

- ``STEP_NAMES``: the promotion steps shipway runs (issue 13's list); a step
  whose ``uses`` is not one of them is refused naming it and the known ones.
- ``ExpressionVariable``: ``{name, value}`` (``name`` matches ``^[a-zA-Z_]\\w*$``).
- ``PromotionStep``: ``uses``, ``task{name, kind}``, ``as``, ``if``,
  ``continueOnError``, ``retry{errorThreshold, timeout}``, ``vars``, ``config``
  (a free mapping here: per-step config schemas belong to the step runner).
- ``PromotionTaskReference``, ``PromotionStepRetry``.
- ``TaskFreeStep``: a ``PromotionStep`` that refuses ``task`` (Promotions and tasks).
- ``PromotionTaskSpec``: a ``PromotionTask``'s and ``ClusterPromotionTask``'s
  spec (``vars``, ``steps``; steps there use ``uses`` and never ``task``).
- ``RESERVED_ALIAS``: aliases Kargo keeps for itself (``step-N``, ``task-N``).
- ``check_aliases(steps)``: Kargo's webhook rules on ``as`` (unique, not
  reserved), as ``(index, message)`` pairs (apply runs it in ``shipway.promote.checks``);
  ``check_alias_names(aliases)`` the same on the ``as`` strings.

Field names, enums and defaults are Kargo's. Unknown fields are refused, as
the API server refuses them for Kargo's CRDs. Pure: no I/O; ``${{ }}``
expressions are compiled at apply by ``shipway.promote.checks``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipway.model.kargo import duration_seconds

STEP_NAMES: tuple[str, ...] = (
    "git-clone",
    "git-clear",
    "git-commit",
    "git-push",
    "git-open-pr",
    "git-wait-for-pr",
    "git-merge-pr",
    "kustomize-set-image",
    "kustomize-build",
    "yaml-update",
    "json-update",
    "copy",
    "delete",
    "http",
    "compose-output",
    "set-metadata",
    "fail",
    "argocd-update",
    "helm-update-image",
    "helm-update-chart",
    "helm-template",
)
"""The promotion steps shipway has (Kargo's names)."""

RESERVED_ALIAS = re.compile(r"^(step|task)-\d+$")
"""Step aliases Kargo reserves for the steps it names itself."""

_VAR_NAME = re.compile(r"^[a-zA-Z_]\w*$")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def dns_name(value: str, what: str = "name") -> str:
    """``value`` if it is a Kubernetes object name (DNS subdomain, 253 characters at most)."""
    if not _DNS_NAME.match(value) or len(value) > 253:
        raise ValueError(f"{what} {value!r} is not a valid Kubernetes name")
    return value


class ExpressionVariable(_Strict):
    """A variable expressions read as ``vars.NAME``; ``value`` may hold ``${{ }}``."""

    name: str = Field(min_length=1)
    value: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _VAR_NAME.match(value):
            raise ValueError(f"variable name {value!r} must match ^[a-zA-Z_]\\w*$")
        return value


class PromotionTaskReference(_Strict):
    name: str = Field(min_length=1)
    kind: Literal["PromotionTask", "ClusterPromotionTask"] = "PromotionTask"
    """Kargo's default when omitted: a ``PromotionTask`` in the Stage's Project."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return dns_name(value, "task name")


class PromotionStepRetry(_Strict):
    timeout: str | None = None
    """A Go duration; how long the step may keep retrying (Kargo: no limit when absent)."""
    error_threshold: int = Field(0, alias="errorThreshold", ge=0)
    """Consecutive errors before the step fails; 0 means Kargo's default of 1."""

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value

    @property
    def effective_error_threshold(self) -> int:
        return self.error_threshold or 1


class PromotionStep(_Strict):
    """One step: ``uses`` a step by name, or runs a ``task`` (Stage templates only)."""

    uses: str | None = Field(None, min_length=1)
    task: PromotionTaskReference | None = None
    as_: str | None = Field(None, alias="as")
    if_: str | None = Field(None, alias="if")
    continue_on_error: bool = Field(False, alias="continueOnError")
    retry: PromotionStepRetry | None = None
    vars: list[ExpressionVariable] = Field(default_factory=list)
    config: dict[str, Any] | None = None

    @field_validator("uses")
    @classmethod
    def _known_step(cls, value: str | None) -> str | None:
        if value is not None and value not in STEP_NAMES:
            raise ValueError(
                f"unknown promotion step {value!r} (shipway has: {', '.join(STEP_NAMES)})"
            )
        return value

    @model_validator(mode="after")
    def _uses_or_task(self) -> PromotionStep:
        if (self.uses is None) == (self.task is None):
            raise ValueError("a step needs exactly one of 'uses' or 'task'")
        if self.task is not None and self.if_:
            raise ValueError(
                "PromotionTemplate step referencing a task cannot have an 'if' condition"
            )
        if self.task is not None and self.config is not None:
            raise ValueError("PromotionTemplate step referencing a task cannot have a config")
        return self

    @property
    def alias(self) -> str | None:
        return self.as_.strip() if self.as_ else None


def check_aliases(steps: list[PromotionStep]) -> list[tuple[int, str]]:
    """Kargo's rules on step aliases: ``(index, message)`` for each duplicate or reserved one."""
    return check_alias_names([step.alias for step in steps])


def check_alias_names(aliases: list[str | None]) -> list[tuple[int, str]]:
    """``check_aliases`` on the ``as`` values themselves (``None``: a step without one)."""
    problems: list[tuple[int, str]] = []
    first: dict[str, int] = {}
    for i, raw in enumerate(aliases):
        alias = raw.strip() if raw else ""
        if not alias:
            continue
        if alias in first:
            problems.append((i, f"step alias {alias!r} duplicates that of steps[{first[alias]}]"))
        else:
            first[alias] = i
        if RESERVED_ALIAS.match(alias):
            problems.append((i, f"step alias {alias!r} is reserved"))
    return problems


class TaskFreeStep(PromotionStep):
    """A step of a Promotion or a (Cluster)PromotionTask: ``uses``, never ``task``."""

    @model_validator(mode="after")
    def _no_task(self) -> TaskFreeStep:
        if self.task is not None:
            raise ValueError("this step must have uses set and must not reference a task")
        return self


class PromotionTaskSpec(_Strict):
    """The spec of a ``PromotionTask`` and of a ``ClusterPromotionTask``."""

    vars: list[ExpressionVariable] = Field(default_factory=list)
    steps: list[TaskFreeStep] = Field(min_length=1)
