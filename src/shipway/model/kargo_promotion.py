"""Kargo's ``Promotion`` (``kargo.akuity.io/v1alpha1``): spec and status, as Kargo defines them.

Public names (stable; the steps and verify helpers build on them):

- ``PromotionSpec``: ``stage``, ``freight``, ``vars``, ``steps`` (at least one;
  each ``uses`` a step, none references a task: Kargo expands tasks when it
  creates the Promotion).
- ``PromotionStatus``: ``phase`` (``PROMOTION_PHASES``), ``message``,
  ``currentStep``, ``stepExecutionMetadata[]`` (``StepExecutionMetadata``:
  ``alias``, ``startedAt``, ``finishedAt``, ``errorCount``, ``status`` in
  ``STEP_STATUSES``, ``message``, ``continueOnError``), ``state``, ``freight``,
  ``freightCollection``, ``healthChecks``, ``startedAt``, ``finishedAt``.
- ``TERMINAL_PHASES``: the phases a Promotion ends in.

``PromotionTask`` and ``ClusterPromotionTask`` specs are
``shipway.model.kargo_steps.PromotionTaskSpec``. Kargo's ``origin`` and
``target`` (its newer, target-aware Promotions) are refused as not supported
yet. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shipway.model.kargo_stage import FreightCollection, FreightReference
from shipway.model.kargo_steps import ExpressionVariable, TaskFreeStep, dns_name

PromotionPhase = Literal["Pending", "Running", "Succeeded", "Failed", "Errored", "Aborted"]
PROMOTION_PHASES: tuple[str, ...] = ("Pending", "Running", "Succeeded", "Failed", "Errored",
                                     "Aborted")  # fmt: skip
TERMINAL_PHASES: frozenset[str] = frozenset({"Succeeded", "Failed", "Errored", "Aborted"})

StepStatus = Literal["Running", "Succeeded", "Failed", "Errored", "Aborted", "Skipped"]
STEP_STATUSES: tuple[str, ...] = ("Running", "Succeeded", "Failed", "Errored", "Aborted", "Skipped")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Status(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class PromotionSpec(_Strict):
    stage: str = Field(min_length=1, max_length=253)
    freight: str = Field(min_length=1, max_length=253)
    vars: list[ExpressionVariable] = Field(default_factory=list)
    steps: list[TaskFreeStep] = Field(min_length=1)
    origin: dict[str, Any] | None = None
    target: str | None = None

    @field_validator("stage", "freight")
    @classmethod
    def _names(cls, value: str) -> str:
        return dns_name(value)

    @field_validator("origin", "target")
    @classmethod
    def _not_yet(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("target-aware Promotions (origin, target) are not supported yet")
        return value


class StepExecutionMetadata(_Status):
    alias: str = ""
    started_at: str | None = Field(None, alias="startedAt")
    finished_at: str | None = Field(None, alias="finishedAt")
    error_count: int = Field(0, alias="errorCount", ge=0)
    status: StepStatus | Literal[""] = ""
    message: str = ""
    continue_on_error: bool = Field(False, alias="continueOnError")


class HealthCheckStep(_Status):
    uses: str
    config: dict[str, Any] | None = None


class PromotionStatus(_Status):
    last_handled_refresh: str = Field("", alias="lastHandledRefresh")
    phase: PromotionPhase | Literal[""] = ""
    message: str = ""
    freight: FreightReference | None = None
    freight_collection: FreightCollection | None = Field(None, alias="freightCollection")
    health_checks: list[HealthCheckStep] = Field(default_factory=list, alias="healthChecks")
    started_at: str | None = Field(None, alias="startedAt")
    finished_at: str | None = Field(None, alias="finishedAt")
    current_step: int = Field(0, alias="currentStep", ge=0)
    step_execution_metadata: list[StepExecutionMetadata] = Field(
        default_factory=list, alias="stepExecutionMetadata"
    )
    state: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES
