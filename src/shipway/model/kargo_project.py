"""Kargo's ``ProjectConfig`` and ``Project`` specs (``kargo.akuity.io/v1alpha1``), as is.

Public names (stable; the steps and verify helpers build on them):

- ``ProjectConfigSpec``: ``promotionPolicies[]``, ``promotionWindows[]``,
  ``webhookReceivers[]``, ``freightLinks[]``, ``stageLinks[]``.
- ``PromotionPolicy``: ``stage`` (deprecated) or ``stageSelector``
  (``PromotionPolicySelector``: ``name`` exact, ``glob:`` or ``regex:``/``regexp:``,
  ``matchLabels``, ``matchExpressions``), ``autoPromotionEnabled`` (default
  false), ``autoRollback`` (``AutoRollbackConfig``: ``onVerification``, default
  ``[Failed]`` when absent or empty, of ``Failed``/``Error``; ``onPromotion``,
  default ``[]``, of ``Failed``/``Errored``).
- ``PromotionWindow``: ``name``, ``stageSelector``, ``kind`` ``Allow``/``Deny``,
  ``description``, ``disabled`` (skipped when true),
  ``rrule`` (RFC 5545, checked with ``dateutil.rrule``), ``dtstart`` and
  ``dtend`` (iCal date-times, optionally ``TZID=Zone:``-prefixed). A window
  without ``rrule`` is one-shot, from ``dtstart`` to ``dtend``; with one,
  ``dtend - dtstart`` is each occurrence's length. Kargo keeps ``autoRollback``
  and windows for its Enterprise edition; shipway reads the same fields.
  ``projectSelector`` belongs to ClusterConfig and is refused here, as Kargo does.
- ``KargoProjectSpec``: a ``Project``'s ``spec.promotionPolicies`` (the older
  location, before ProjectConfig), read as-is.
- ``parse_ical_time(text)``: ``(datetime, zone name)`` of a ``dtstart``/``dtend``.
- ``name_matcher(pattern)``: Kargo's name patterns as a predicate.

Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import zoneinfo
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipway.model.kargo_steps import dns_name
from shipway.model.selectors import expressions_match

_ICAL = re.compile(r"^(?:TZID=(?P<tz>[^:]+):)?(?P<d>\d{8})(?:T(?P<t>\d{6})(?P<z>Z)?)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def name_matcher(pattern: str) -> Callable[[str], bool]:
    """Kargo's name patterns: ``glob:PATTERN``, ``regex:RE`` / ``regexp:RE``, else the exact name.

    ValueError for a bad regular expression or an unknown ``identifier:``.
    """
    kind, sep, rest = pattern.partition(":")
    if not sep:
        return lambda name: name == pattern
    if kind in ("regex", "regexp"):
        try:
            compiled = re.compile(rest)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return lambda name: compiled.search(name) is not None
    if kind == "glob":
        return lambda name: fnmatch.fnmatchcase(name, rest)
    raise ValueError(f'invalid pattern identifier {kind!r}: must be "regex", "regexp" or "glob"')


class LabelSelectorRequirement(_Strict):
    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _values(self) -> LabelSelectorRequirement:
        needs = self.operator in ("In", "NotIn")
        if needs and not self.values:
            raise ValueError(f"operator {self.operator} needs values")
        if not needs and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class PromotionPolicySelector(_Strict):
    name: str = ""
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, alias="matchExpressions"
    )

    @field_validator("name")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if value:
            name_matcher(value)
        return value

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        """Name (when given) AND labels, as Kargo matches a Stage."""
        if self.name and not name_matcher(self.name)(name):
            return False
        return expressions_match(
            self.match_labels,
            ((r.key, r.operator, r.values) for r in self.match_expressions),
            labels,
        )


class AutoRollbackConfig(_Strict):
    on_promotion: list[Literal["Failed", "Errored"]] = Field(
        default_factory=list, alias="onPromotion", max_length=2
    )
    on_verification: list[Literal["Failed", "Error"]] = Field(
        default_factory=list, alias="onVerification", max_length=2
    )

    @property
    def effective_on_verification(self) -> list[str]:
        """``onVerification`` with Kargo's default: ``[Failed]`` when absent or empty."""
        return list(self.on_verification) or ["Failed"]


class PromotionPolicy(_Strict):
    stage: str = ""
    """Deprecated in Kargo (use ``stageSelector``); an exact Stage name."""
    stage_selector: PromotionPolicySelector | None = Field(None, alias="stageSelector")
    auto_promotion_enabled: bool = Field(False, alias="autoPromotionEnabled")
    auto_rollback: AutoRollbackConfig | None = Field(None, alias="autoRollback")

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        return dns_name(value, "stage") if value else value

    @model_validator(mode="after")
    def _one(self) -> PromotionPolicy:
        if bool(self.stage) == (self.stage_selector is not None):
            raise ValueError("PromotionPolicy must have exactly one of stage or stageSelector set")
        return self

    def applies_to(self, stage: str, labels: dict[str, str]) -> bool:
        if self.stage_selector is not None:
            return self.stage_selector.matches(stage, labels)
        return self.stage == stage


def parse_ical_time(text: str) -> tuple[dt.datetime, str | None]:
    """An iCal date-time (``20260101T090000``, ``...Z``, ``TZID=Europe/Paris:...``, or a date).

    Returns the naive local time and the zone (``UTC`` for ``Z``); ValueError when malformed.
    """
    m = _ICAL.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not an iCal date-time such as 20260101T090000Z")
    zone = m["tz"] or ("UTC" if m["z"] else None)
    if m["tz"] and m["z"]:
        raise ValueError(f"{text!r} has both TZID and Z")
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
    stamp = m["d"] + (m["t"] or "000000")
    try:
        when = dt.datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date-time") from None
    return when, zone


class PromotionWindow(_Strict):
    name: str = Field(min_length=1, max_length=253)
    stage_selector: PromotionPolicySelector | None = Field(None, alias="stageSelector")
    project_selector: dict[str, Any] | None = Field(None, alias="projectSelector")
    kind: Literal["Allow", "Deny"]
    description: str = ""
    disabled: bool = False
    """A disabled window is skipped when the window status is worked out (Kargo's rule)."""
    rrule: str = ""
    dtstart: str = ""
    dtend: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return dns_name(value, "window name")

    @field_validator("project_selector")
    @classmethod
    def _no_projects(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            raise ValueError("projectSelector is only meaningful on ClusterConfig windows")
        return value

    @field_validator("dtstart", "dtend")
    @classmethod
    def _ical(cls, value: str) -> str:
        if value:
            parse_ical_time(value)
        return value

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, value: str) -> str:
        if value:
            from dateutil import rrule

            try:
                rrule.rrulestr(value.removeprefix("RRULE:"), dtstart=dt.datetime(2000, 1, 1))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"rrule {value!r} is not an RFC 5545 rule: {exc}") from None
        return value

    @model_validator(mode="after")
    def _schedule(self) -> PromotionWindow:
        if not self.dtstart or not self.dtend:
            raise ValueError("a promotion window needs dtstart and dtend")
        start, start_zone = parse_ical_time(self.dtstart)
        end, _ = parse_ical_time(self.dtend)
        if end <= start:
            raise ValueError(f"dtend {self.dtend!r} is not after dtstart {self.dtstart!r}")
        text = self.rrule.removeprefix("RRULE:")
        until = text.split("UNTIL=")[1].split(";")[0] if "UNTIL=" in text else ""
        if start_zone and until and not until.endswith("Z"):
            raise ValueError("rrule UNTIL must be in UTC (end with Z) when dtstart has a zone")
        return self

    @property
    def occurrence(self) -> dt.timedelta:
        """How long each occurrence lasts (``dtend - dtstart``)."""
        return parse_ical_time(self.dtend)[0] - parse_ical_time(self.dtstart)[0]


class WebhookReceiverConfig(_Strict):
    """Kargo's webhook receivers are read as given (shipway's receivers are its controller's)."""

    name: str = Field(min_length=1)
    bitbucket: dict[str, Any] | None = None
    dockerhub: dict[str, Any] | None = None
    github: dict[str, Any] | None = None
    gitlab: dict[str, Any] | None = None
    harbor: dict[str, Any] | None = None
    quay: dict[str, Any] | None = None
    artifactory: dict[str, Any] | None = None
    azure: dict[str, Any] | None = None
    gitea: dict[str, Any] | None = None
    generic: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> WebhookReceiverConfig:
        given = [k for k, v in self if k != "name" and v is not None]
        if len(given) != 1:
            raise ValueError("a webhook receiver needs exactly one provider")
        return self


class DeepLink(_Strict):
    title: str = Field(min_length=1)
    url: str = Field(min_length=1)
    description: str = ""
    if_: str = Field("", alias="if")


class ProjectConfigSpec(_Strict):
    promotion_policies: list[PromotionPolicy] = Field(
        default_factory=list, alias="promotionPolicies"
    )
    webhook_receivers: list[WebhookReceiverConfig] = Field(
        default_factory=list, alias="webhookReceivers"
    )
    freight_links: list[DeepLink] = Field(default_factory=list, alias="freightLinks")
    stage_links: list[DeepLink] = Field(default_factory=list, alias="stageLinks")
    promotion_windows: list[PromotionWindow] = Field(default_factory=list, alias="promotionWindows")

    @model_validator(mode="after")
    def _unique_windows(self) -> ProjectConfigSpec:
        names = [w.name for w in self.promotion_windows]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"promotion window names must be unique: {', '.join(dupes)}")
        return self

    def policy_for(self, stage: str, labels: dict[str, str]) -> PromotionPolicy | None:
        """The first policy that applies to a Stage (Kargo checks them in order)."""
        return next((p for p in self.promotion_policies if p.applies_to(stage, labels)), None)


class KargoProjectSpec(_Strict):
    """A ``Project``'s spec: ``promotionPolicies``, where Kargo kept them before ProjectConfig."""

    promotion_policies: list[PromotionPolicy] = Field(
        default_factory=list, alias="promotionPolicies"
    )
