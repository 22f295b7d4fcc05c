"""Kargo's ``Stage`` (``kargo.akuity.io/v1alpha1``): spec and status, read as Kargo defines them.

Public names (stable; the steps and verify helpers build on them):

- ``StageSpec``: ``shard``, ``vars``, ``requestedFreight[]`` (``FreightRequest``:
  ``origin{kind, name}``, ``sources`` = ``FreightSources{direct, stages[],
  requiredSoakTime, availabilityStrategy, autoPromotionOptions{selectionPolicy}}``),
  ``promotionTemplate.spec{vars, steps}`` (``PromotionTemplate``), ``verification``
  (``Verification{analysisTemplates[], analysisRunMetadata, args}``).
- ``StageStatus`` (what the controller writes): ``conditions``, ``freightHistory``
  (``FreightCollection``: ``id``, ``items`` by origin, ``verificationHistory``),
  ``freightSummary``, ``health``, ``currentPromotion``, ``lastPromotion``
  (``PromotionReference``), ``autoPromotionHolds`` (``AutoPromotionHold``),
  ``autoPromotionEnabled``, ``promotionWindowStatus``, ``metadata``.
- ``FreightReference``, ``VerificationInfo``, ``AnalysisRunReference``, ``Condition``.
- ``authorized_stages``/``authorizes``: Kargo's ``kargo.akuity.io/authorized-stage``
  annotation, one ``<project>:<stage>`` or a comma-separated list of them.

Kargo's defaults: ``availabilityStrategy`` ``""`` reads as ``OneOf``;
``selectionPolicy`` ``NewestFreight``; ``analysisTemplates[].kind``
``AnalysisTemplate``. Kargo's webhook rules: an origin requested once, a
source (``direct`` or ``stages``), ``MatchUpstream`` only with exactly one
upstream Stage and not ``direct``. Unknown spec fields are refused; status
keeps what a newer controller adds. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipway.model.kargo import FreightCommit, FreightImage, FreightOrigin
from shipway.model.kargo_steps import ExpressionVariable, PromotionStep

_SOAK = re.compile(r"^([0-9]+(\.[0-9]+)?(s|m|h))+$")
"""Kargo's pattern for ``requiredSoakTime``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Status(BaseModel):
    """Status is written by controllers: fields a newer one adds are kept, not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AutoPromotionOptions(_Strict):
    selection_policy: Literal["NewestFreight", "MatchUpstream"] = Field(
        "NewestFreight", alias="selectionPolicy"
    )


class FreightSources(_Strict):
    direct: bool = False
    stages: list[str] = Field(default_factory=list)
    required_soak_time: str | None = Field(None, alias="requiredSoakTime")
    availability_strategy: Literal["All", "OneOf", ""] = Field("", alias="availabilityStrategy")
    auto_promotion_options: AutoPromotionOptions | None = Field(None, alias="autoPromotionOptions")

    @field_validator("required_soak_time")
    @classmethod
    def _soak(cls, value: str | None) -> str | None:
        if value is not None and not _SOAK.match(value):
            raise ValueError(f"requiredSoakTime {value!r} is not a duration such as 1h or 30m0s")
        return value

    @property
    def strategy(self) -> Literal["All", "OneOf"]:
        """``availabilityStrategy`` with Kargo's reading of ``""`` as ``OneOf``."""
        return "All" if self.availability_strategy == "All" else "OneOf"

    @property
    def selection_policy(self) -> Literal["NewestFreight", "MatchUpstream"]:
        opts = self.auto_promotion_options
        return opts.selection_policy if opts else "NewestFreight"

    @model_validator(mode="after")
    def _rules(self) -> FreightSources:
        if not self.direct and not self.stages:
            raise ValueError("sources needs 'direct: true' or at least one upstream in 'stages'")
        if self.selection_policy == "MatchUpstream":
            if self.direct:
                raise ValueError(
                    "selection policy 'MatchUpstream' cannot be used when accepting "
                    "Freight directly from its origin"
                )
            if len(self.stages) != 1:
                raise ValueError(
                    "selection policy 'MatchUpstream' requires exactly one upstream "
                    "Stage to be specified"
                )
        return self


class FreightRequest(_Strict):
    origin: FreightOrigin
    sources: FreightSources


class PromotionTemplateSpec(_Strict):
    vars: list[ExpressionVariable] = Field(default_factory=list)
    steps: list[PromotionStep] = Field(default_factory=list)


class PromotionTemplate(_Strict):
    spec: PromotionTemplateSpec


class AnalysisTemplateReference(_Strict):
    name: str = Field(min_length=1)
    kind: Literal["AnalysisTemplate", "ClusterAnalysisTemplate"] = "AnalysisTemplate"


class AnalysisRunMetadata(_Strict):
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class AnalysisRunArgument(_Strict):
    name: str = Field(min_length=1)
    value: str = ""


class Verification(_Strict):
    analysis_templates: list[AnalysisTemplateReference] = Field(
        default_factory=list, alias="analysisTemplates"
    )
    analysis_run_metadata: AnalysisRunMetadata | None = Field(None, alias="analysisRunMetadata")
    args: list[AnalysisRunArgument] = Field(default_factory=list)


class StageSpec(_Strict):
    shard: str | None = None
    vars: list[ExpressionVariable] = Field(default_factory=list)
    requested_freight: list[FreightRequest] = Field(alias="requestedFreight", min_length=1)
    promotion_template: PromotionTemplate | None = Field(None, alias="promotionTemplate")
    verification: Verification | None = None
    targets: dict[str, Any] | None = None

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            raise ValueError("Stage targets are not supported yet by shipway")
        return value

    @model_validator(mode="after")
    def _origins_once(self) -> StageSpec:
        seen: set[str] = set()
        for req in self.requested_freight:
            key = f"{req.origin.kind}/{req.origin.name}"
            if key in seen:
                raise ValueError(f"freight with origin {key} requested multiple times")
            seen.add(key)
        return self

    @property
    def steps(self) -> list[PromotionStep]:
        return self.promotion_template.spec.steps if self.promotion_template else []

    @property
    def is_control_flow(self) -> bool:
        """Kargo's control-flow Stage: no steps, it only passes Freight downstream."""
        return not self.steps


# --- status -------------------------------------------------------------------------------


class Condition(_Status):
    """A Kubernetes ``metav1.Condition``."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = Field(None, alias="lastTransitionTime")
    observed_generation: int | None = Field(None, alias="observedGeneration")


class FreightReference(_Status):
    name: str = ""
    origin: FreightOrigin | None = None
    commits: list[FreightCommit] = Field(default_factory=list)
    images: list[FreightImage] = Field(default_factory=list)
    charts: list[dict[str, Any]] = Field(default_factory=list)


class AnalysisRunReference(_Status):
    namespace: str
    name: str
    phase: str = ""


class VerificationInfo(_Status):
    id: str = ""
    actor: str = ""
    start_time: str | None = Field(None, alias="startTime")
    phase: Literal[
        "", "Pending", "Running", "Successful", "Failed", "Error", "Aborted", "Inconclusive"
    ] = ""
    message: str = ""
    analysis_run: AnalysisRunReference | None = Field(None, alias="analysisRun")
    finish_time: str | None = Field(None, alias="finishTime")


class FreightCollection(_Status):
    id: str = ""
    items: dict[str, FreightReference] = Field(default_factory=dict)
    """Keyed by origin, ``Warehouse/NAME``."""
    verification_history: list[VerificationInfo] = Field(
        default_factory=list, alias="verificationHistory"
    )


class Health(_Status):
    status: Literal["", "Healthy", "NotApplicable", "Progressing", "Unknown", "Unhealthy"] = ""
    issues: list[str] = Field(default_factory=list)
    config: Any = None
    output: Any = None


class PromotionReference(_Status):
    name: str
    freight: FreightReference | None = None
    status: dict[str, Any] | None = None
    """The Promotion's status (``shipway.model.kargo_promotion.PromotionStatus``)."""
    finished_at: str | None = Field(None, alias="finishedAt")


class AutoPromotionHold(_Status):
    freight_name: str = Field(alias="freightName")
    origin: FreightOrigin
    promotion_name: str = Field("", alias="promotionName")
    actor: str = ""
    created_at: str | None = Field(None, alias="createdAt")


class PromotionWindowStatus(_Status):
    closed: bool = False
    reason: str = ""
    next_open: str | None = Field(None, alias="nextOpen")
    next_close: str | None = Field(None, alias="nextClose")
    next_close_reason: str = Field("", alias="nextCloseReason")


class StageStatus(_Status):
    conditions: list[Condition] = Field(default_factory=list)
    last_handled_refresh: str = Field("", alias="lastHandledRefresh")
    freight_history: list[FreightCollection] = Field(default_factory=list, alias="freightHistory")
    """Most recent first; Kargo keeps ten."""
    freight_summary: str = Field("", alias="freightSummary")
    health: Health | None = None
    observed_generation: int | None = Field(None, alias="observedGeneration")
    current_promotion: PromotionReference | None = Field(None, alias="currentPromotion")
    last_promotion: PromotionReference | None = Field(None, alias="lastPromotion")
    auto_promotion_enabled: bool = Field(False, alias="autoPromotionEnabled")
    promotion_window_status: PromotionWindowStatus | None = Field(
        None, alias="promotionWindowStatus"
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    auto_promotion_holds: dict[str, AutoPromotionHold] = Field(
        default_factory=dict, alias="autoPromotionHolds"
    )
    """Keyed by origin, ``Warehouse/NAME``."""

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)


AUTHORIZED_STAGE = "kargo.akuity.io/authorized-stage"


def authorized_stages(value: str) -> list[tuple[str, str]]:
    """Kargo's ``kargo.akuity.io/authorized-stage`` value: a comma-separated list of
    ``<project>:<stage>`` (spaces around parts ignored); ValueError for a malformed or empty
    entry list, or a glob (``*``, no longer supported by Kargo)."""
    out: list[tuple[str, str]] = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        project, sep, stage = entry.partition(":")
        project, stage = project.strip(), stage.strip()
        if not sep or not project or not stage:
            raise ValueError(f"invalid authorized Stage {entry!r}: expected format "
                             "'<project>:<stage>'")  # fmt: skip
        if "*" in project or "*" in stage:
            raise ValueError(f"invalid authorized Stage {entry!r}: glob expressions are no "
                             "longer supported")  # fmt: skip
        out.append((project, stage))
    if not out:
        raise ValueError(f"no authorized Stages found in {value!r}")
    return out


def authorizes(annotations: dict[str, Any] | None, project: str, stage: str) -> bool:
    """Whether an object's annotations let ``project:stage`` change it (False if malformed)."""
    value = (annotations or {}).get(AUTHORIZED_STAGE)
    if not isinstance(value, str):
        return False
    try:
        return (project, stage) in authorized_stages(value)
    except ValueError:
        return False
