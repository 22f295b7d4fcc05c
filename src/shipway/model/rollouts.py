"""Argo Rollouts' analysis kinds (``argoproj.io/v1alpha1``), read as Argo Rollouts defines them.

Public names (stable; the verify helper builds on them):

- ``AnalysisTemplateSpec``: the spec of ``AnalysisTemplate`` and
  ``ClusterAnalysisTemplate``: ``metrics[]``, ``args[]``, ``dryRun[]``,
  ``measurementRetention[]``, ``templates[]``.
- ``Metric``: ``name``, ``interval``, ``initialDelay``, ``count``,
  ``successCondition``, ``failureCondition``, ``failureLimit``,
  ``inconclusiveLimit``, ``consecutiveErrorLimit``, ``consecutiveSuccessLimit``,
  ``provider`` (``MetricProvider``: exactly one of ``web`` (``WebMetric``),
  ``job`` (``JobMetric``), ``prometheus`` (``PrometheusMetric``)). Count-like
  fields are ints or strings (``"{{args.n}}"``), as Kubernetes' IntOrString.
  ``Metric.limits()`` gives them with Argo Rollouts' defaults (failureLimit 0,
  inconclusiveLimit 0, consecutiveErrorLimit 4, consecutiveSuccessLimit 0)
  and ``effective_count`` its count rule (1 with neither count nor interval;
  unbounded with only an interval).
- ``Argument``: ``name``, ``value``, ``valueFrom{secretKeyRef{name, key},
  fieldRef{fieldPath}}``.
- ``AnalysisRunSpec`` and ``AnalysisRunStatus`` (``phase`` in
  ``ANALYSIS_PHASES``, ``message``, ``metricResults[]`` (``MetricResult`` with
  ``measurements[]`` (``Measurement``)), ``runSummary``, ``startedAt``, ``completedAt``).
- ``UNSUPPORTED_PROVIDERS``: providers Argo Rollouts has and shipway does not;
  a metric using one is refused naming it.

Web defaults: ``method`` GET, ``timeoutSeconds`` 10, ``jsonPath`` ``{$}``;
``body``/``jsonBody`` need POST or PUT and not both. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shipway.model.kargo import duration_seconds

AnalysisPhase = Literal["Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"]
ANALYSIS_PHASES: tuple[str, ...] = ("Pending", "Running", "Successful", "Failed", "Error",
                                    "Inconclusive")  # fmt: skip
COMPLETED_PHASES: frozenset[str] = frozenset({"Successful", "Failed", "Error", "Inconclusive"})

UNSUPPORTED_PROVIDERS: tuple[str, ...] = (
    "kayenta", "datadog", "wavefront", "newRelic", "cloudWatch", "graphite", "influxdb",
    "skywalking", "plugin",
)  # fmt: skip

IntOrString = int | str
_ARG_REF = re.compile(r"^\{\{\s*args\.[\w.-]+\s*\}\}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Status(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _duration(value: str | None, what: str) -> str | None:
    """A Go duration, or a ``{{args.x}}`` placeholder resolved when the run starts."""
    if value and not _ARG_REF.match(value):
        try:
            duration_seconds(value)
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a duration (e.g. 30s, 5m, 1h)") from None
    return value


def _int_or_arg(value: IntOrString | None, what: str) -> IntOrString | None:
    if isinstance(value, str) and not (value.lstrip("-").isdigit() or _ARG_REF.match(value)):
        raise ValueError(f"{what} {value!r} is neither an integer nor {{{{args.NAME}}}}")
    return value


class WebMetricHeader(_Strict):
    key: str = Field(min_length=1)
    value: str


class WebMetric(_Strict):
    method: Literal["GET", "POST", "PUT"] = "GET"
    url: str = Field(min_length=1)
    headers: list[WebMetricHeader] = Field(default_factory=list)
    body: str = ""
    json_body: Any = Field(None, alias="jsonBody")
    timeout_seconds: int = Field(10, alias="timeoutSeconds", ge=0)
    """Argo Rollouts' default is 10 seconds (0 reads as the default)."""
    json_path: str = Field("{$}", alias="jsonPath")
    insecure: bool = False
    authentication: dict[str, Any] | None = None

    @field_validator("authentication")
    @classmethod
    def _auth(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            raise ValueError("web authentication (sigv4, oauth2, basicAuth) is not supported yet; "
                             "use headers")  # fmt: skip
        return value

    @model_validator(mode="after")
    def _body(self) -> WebMetric:
        if self.body and self.json_body is not None:
            raise ValueError("use either body or jsonBody, not both")
        if (self.body or self.json_body is not None) and self.method == "GET":
            raise ValueError("body and jsonBody need method POST or PUT")
        return self


class PrometheusRangeQuery(_Strict):
    start: str = ""
    end: str = ""
    step: str = ""


class PrometheusMetric(_Strict):
    address: str = Field(min_length=1)
    query: str = Field(min_length=1)
    timeout: int | None = Field(None, ge=1)
    """Seconds the query may take."""
    insecure: bool = False
    headers: list[WebMetricHeader] = Field(default_factory=list)
    authentication: dict[str, Any] | None = None
    range_query: dict[str, Any] | None = Field(None, alias="rangeQuery")

    @field_validator("authentication", "range_query")
    @classmethod
    def _not_yet(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            raise ValueError("not supported yet by shipway (instant queries with headers only)")
        return value


class JobMetric(_Strict):
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: dict[str, Any]

    @field_validator("spec")
    @classmethod
    def _template(cls, value: dict[str, Any]) -> dict[str, Any]:
        containers = ((value.get("template") or {}).get("spec") or {}).get("containers")
        if not isinstance(containers, list) or not containers:
            raise ValueError("a job metric's spec needs template.spec.containers")
        return value


class MetricProvider(_Strict):
    web: WebMetric | None = None
    job: JobMetric | None = None
    prometheus: PrometheusMetric | None = None
    kayenta: Any = None
    datadog: Any = None
    wavefront: Any = None
    new_relic: Any = Field(None, alias="newRelic")
    cloud_watch: Any = Field(None, alias="cloudWatch")
    graphite: Any = None
    influxdb: Any = None
    skywalking: Any = None
    plugin: Any = None

    @field_validator(
        "kayenta", "datadog", "wavefront", "new_relic", "cloud_watch", "graphite", "influxdb",
        "skywalking", "plugin",
    )  # fmt: skip
    @classmethod
    def _unsupported(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            name = cls.model_fields[str(info.field_name)].alias or info.field_name
            raise ValueError(f"metric provider {name!r} is not supported by shipway "
                             "(it has web, job and prometheus)")  # fmt: skip
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> MetricProvider:
        given = [n for n in ("web", "job", "prometheus") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a metric provider needs exactly one of web, job or prometheus")
        return self

    @property
    def kind(self) -> Literal["web", "job", "prometheus"]:
        if self.web is not None:
            return "web"
        return "job" if self.job is not None else "prometheus"


class Metric(_Strict):
    name: str = Field(min_length=1)
    interval: str = ""
    initial_delay: str = Field("", alias="initialDelay")
    count: IntOrString | None = None
    success_condition: str = Field("", alias="successCondition")
    failure_condition: str = Field("", alias="failureCondition")
    failure_limit: IntOrString | None = Field(None, alias="failureLimit")
    inconclusive_limit: IntOrString | None = Field(None, alias="inconclusiveLimit")
    consecutive_error_limit: IntOrString | None = Field(None, alias="consecutiveErrorLimit")
    consecutive_success_limit: IntOrString | None = Field(None, alias="consecutiveSuccessLimit")
    provider: MetricProvider

    @field_validator("interval", "initial_delay")
    @classmethod
    def _durations(cls, value: str) -> str:
        return _duration(value, "duration") or ""

    @field_validator(
        "count", "failure_limit", "inconclusive_limit", "consecutive_error_limit",
        "consecutive_success_limit",
    )  # fmt: skip
    @classmethod
    def _counts(cls, value: IntOrString | None) -> IntOrString | None:
        return _int_or_arg(value, "value")

    @model_validator(mode="after")
    def _count_needs_interval(self) -> Metric:
        if isinstance(self.count, int) and self.count > 1 and not self.interval:
            raise ValueError("count > 1 needs an interval")
        return self

    @property
    def effective_count(self) -> IntOrString | None:
        """Argo Rollouts' rule: 1 without count or interval; None (unbounded) with interval only."""
        if self.count in (None, 0, "0"):
            return None if self.interval else 1
        return self.count

    def limits(self) -> dict[str, IntOrString]:
        """The limits with Argo Rollouts' defaults filled in."""
        return {
            "failureLimit": 0 if self.failure_limit is None else self.failure_limit,
            "inconclusiveLimit": 0 if self.inconclusive_limit is None else self.inconclusive_limit,
            "consecutiveErrorLimit": 4
            if self.consecutive_error_limit is None
            else self.consecutive_error_limit,
            "consecutiveSuccessLimit": 0
            if self.consecutive_success_limit is None
            else self.consecutive_success_limit,
        }


class SecretKeyRef(_Strict):
    name: str = Field(min_length=1)
    key: str = Field(min_length=1)


class FieldRef(_Strict):
    field_path: str = Field(alias="fieldPath", min_length=1)


class ValueFrom(_Strict):
    secret_key_ref: SecretKeyRef | None = Field(None, alias="secretKeyRef")
    field_ref: FieldRef | None = Field(None, alias="fieldRef")
    pod_template_hash_value: str | None = Field(None, alias="podTemplateHashValue")

    @model_validator(mode="after")
    def _one(self) -> ValueFrom:
        if self.pod_template_hash_value is not None:
            raise ValueError("podTemplateHashValue belongs to Rollouts, which shipway does not run")
        if (self.secret_key_ref is None) == (self.field_ref is None):
            raise ValueError("valueFrom needs exactly one of secretKeyRef or fieldRef")
        return self


class Argument(_Strict):
    name: str = Field(min_length=1)
    value: str | None = None
    value_from: ValueFrom | None = Field(None, alias="valueFrom")

    @model_validator(mode="after")
    def _not_both(self) -> Argument:
        if self.value is not None and self.value_from is not None:
            raise ValueError("an argument takes value or valueFrom, not both")
        return self


class DryRun(_Strict):
    metric_name: str = Field(alias="metricName", min_length=1)


class MeasurementRetention(_Strict):
    metric_name: str = Field(alias="metricName", min_length=1)
    limit: int = Field(ge=0)


class AnalysisTemplateRef(_Strict):
    template_name: str = Field(alias="templateName", min_length=1)
    cluster_scope: bool = Field(False, alias="clusterScope")


def _unique_metrics(metrics: list[Metric]) -> list[Metric]:
    names = [m.name for m in metrics]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"metric names must be unique: {', '.join(dupes)}")
    return metrics


class AnalysisTemplateSpec(_Strict):
    metrics: list[Metric] = Field(default_factory=list)
    args: list[Argument] = Field(default_factory=list)
    dry_run: list[DryRun] = Field(default_factory=list, alias="dryRun")
    measurement_retention: list[MeasurementRetention] = Field(
        default_factory=list, alias="measurementRetention"
    )
    templates: list[AnalysisTemplateRef] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[Metric]) -> list[Metric]:
        return _unique_metrics(value)

    @model_validator(mode="after")
    def _something(self) -> AnalysisTemplateSpec:
        if not self.metrics and not self.templates:
            raise ValueError("an analysis template needs metrics or templates")
        return self


class TTLStrategy(_Strict):
    seconds_after_completion: int | None = Field(None, alias="secondsAfterCompletion")
    seconds_after_failure: int | None = Field(None, alias="secondsAfterFailure")
    seconds_after_success: int | None = Field(None, alias="secondsAfterSuccess")


class AnalysisRunSpec(_Strict):
    metrics: list[Metric] = Field(min_length=1)
    args: list[Argument] = Field(default_factory=list)
    terminate: bool = False
    dry_run: list[DryRun] = Field(default_factory=list, alias="dryRun")
    measurement_retention: list[MeasurementRetention] = Field(
        default_factory=list, alias="measurementRetention"
    )
    ttl_strategy: TTLStrategy | None = Field(None, alias="ttlStrategy")

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[Metric]) -> list[Metric]:
        return _unique_metrics(value)


class Measurement(_Status):
    phase: AnalysisPhase
    message: str = ""
    started_at: str | None = Field(None, alias="startedAt")
    finished_at: str | None = Field(None, alias="finishedAt")
    value: str = ""
    metadata: dict[str, str] = Field(default_factory=dict)
    resume_at: str | None = Field(None, alias="resumeAt")


class MetricResult(_Status):
    name: str
    phase: AnalysisPhase
    measurements: list[Measurement] = Field(default_factory=list)
    message: str = ""
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = Field(0, alias="consecutiveError")
    consecutive_success: int = Field(0, alias="consecutiveSuccess")
    dry_run: bool = Field(False, alias="dryRun")
    metadata: dict[str, str] = Field(default_factory=dict)


class RunSummary(_Status):
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0


class AnalysisRunStatus(_Status):
    phase: AnalysisPhase | Literal[""] = ""
    message: str = ""
    metric_results: list[MetricResult] = Field(default_factory=list, alias="metricResults")
    started_at: str | None = Field(None, alias="startedAt")
    run_summary: RunSummary = Field(default_factory=RunSummary, alias="runSummary")
    dry_run_summary: RunSummary | None = Field(None, alias="dryRunSummary")
    completed_at: str | None = Field(None, alias="completedAt")

    @property
    def completed(self) -> bool:
        return self.phase in COMPLETED_PHASES
