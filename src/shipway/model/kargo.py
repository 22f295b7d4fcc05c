"""Kargo's Warehouse and Freight (``kargo.akuity.io/v1alpha1``), read as Kargo defines them.

A ``Warehouse`` subscribes to image repositories and git repositories; each
discovery turns the newest selection of every subscription into one
``Freight``. Field names, enums and defaults are Kargo's: ``discoveryLimit``
20 (1..100), ``interval`` ``5m0s``, ``imageSelectionStrategy`` ``SemVer``,
``commitSelectionStrategy`` ``NewestFromBranch``, ``strictSemvers`` true,
``freightCreationPolicy`` ``Automatic``. The tag filters are Kargo's current
``allowTagsRegexes``/``ignoreTagsRegexes`` (any may match / none may) and the
deprecated ``allowTags``/``ignoreTags``; git subscriptions take
``expressionFilter``, ``since`` and ``blobless``; a subscription may be named;
``freightCreationCriteria.expression`` gates a new Freight (both expressions
are parsed at apply by ``promote.checks``). Unknown fields are refused, as the
API server refuses them for Kargo's CRDs. A chart subscription's ``repoURL``
is an ``oci://`` repository (no ``name``: the repository is the chart) or a
classic ``http(s)://`` chart repository (``name`` required), as Kargo's CRD
validation has it. The other Kargo kinds are in ``kargo_stage``, ``kargo_promotion``,
``kargo_steps`` and ``kargo_project``; ``NOT_SERVED`` names Kargo kinds shipway
knows of and does not serve (apply says so). Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NOT_SERVED: frozenset[str] = frozenset({"PromotionRequest", "ClusterConfig", "Target"})
"""Kargo kinds shipway knows of but does not serve yet (apply refuses them, saying so)."""

_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """A Go ``time.Duration`` string (``5m0s``, ``1h30m``, ``90s``) in seconds."""
    if text == "0":
        return 0.0
    if not _DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration (e.g. 5m0s, 30s, 1h)")
    total = 0.0
    for num, _frac, unit in re.findall(r"(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)", text):
        total += float(num) * _UNITS[unit]
    return total


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _regex(value: str | None, what: str) -> str | None:
    if value:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{what} {value!r} is not a regular expression: {exc}") from None
    return value


def _path_selector(value: str) -> str:
    for prefix in ("regex:", "regexp:"):
        if value.startswith(prefix):
            _regex(value[len(prefix) :], "path selector")
    return value


class ImageSubscription(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    image_selection_strategy: Literal["SemVer", "NewestBuild", "Digest", "Lexical"] = Field(
        "SemVer", alias="imageSelectionStrategy"
    )
    constraint: str | None = None
    semver_constraint: str | None = Field(None, alias="semverConstraint")
    """The older name of ``constraint`` (Kargo still reads it)."""
    strict_semvers: bool = Field(True, alias="strictSemvers")
    allow_tags: str | None = Field(None, alias="allowTags")
    """Deprecated in Kargo for ``allowTagsRegexes``; still read."""
    ignore_tags: list[str] = Field(default_factory=list, alias="ignoreTags")
    """Deprecated in Kargo for ``ignoreTagsRegexes``; still read (exact tags)."""
    allow_tags_regexes: list[str] = Field(default_factory=list, alias="allowTagsRegexes")
    ignore_tags_regexes: list[str] = Field(default_factory=list, alias="ignoreTagsRegexes")
    platform: str | None = None
    discovery_limit: int = Field(20, alias="discoveryLimit", ge=1, le=100)
    insecure_skip_tls_verify: bool = Field(False, alias="insecureSkipTLSVerify")
    git_repo_url: str | None = Field(None, alias="gitRepoURL")
    cache_by_tag: bool = Field(False, alias="cacheByTag")
    """A metadata cache hint: shipway asks the registry each discovery (always fresh)."""

    @field_validator("allow_tags")
    @classmethod
    def _allow(cls, value: str | None) -> str | None:
        return _regex(value, "allowTags")

    @field_validator("allow_tags_regexes", "ignore_tags_regexes")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for v in value:
            _regex(v, "tag pattern")
        return value

    @property
    def effective_constraint(self) -> str | None:
        return self.constraint or self.semver_constraint

    @model_validator(mode="after")
    def _digest_needs_tag(self) -> ImageSubscription:
        if self.image_selection_strategy == "Digest" and not self.effective_constraint:
            raise ValueError("imageSelectionStrategy Digest needs 'constraint' (the tag to follow)")
        if self.platform and not re.match(r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$", self.platform):
            raise ValueError(f"platform {self.platform!r} is not os/arch[/variant]")
        return self


class GitSubscription(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    commit_selection_strategy: Literal["NewestFromBranch", "SemVer", "Lexical", "NewestTag"] = (
        Field("NewestFromBranch", alias="commitSelectionStrategy")
    )
    branch: str | None = None
    constraint: str | None = None
    semver_constraint: str | None = Field(None, alias="semverConstraint")
    strict_semvers: bool = Field(True, alias="strictSemvers")
    allow_tags: str | None = Field(None, alias="allowTags")
    """Deprecated in Kargo for ``allowTagsRegexes``; still read."""
    ignore_tags: list[str] = Field(default_factory=list, alias="ignoreTags")
    """Deprecated in Kargo for ``ignoreTagsRegexes``; still read (exact tags)."""
    allow_tags_regexes: list[str] = Field(default_factory=list, alias="allowTagsRegexes")
    ignore_tags_regexes: list[str] = Field(default_factory=list, alias="ignoreTagsRegexes")
    include_paths: list[str] = Field(default_factory=list, alias="includePaths")
    exclude_paths: list[str] = Field(default_factory=list, alias="excludePaths")
    discovery_limit: int = Field(20, alias="discoveryLimit", ge=1, le=100)
    insecure_skip_tls_verify: bool = Field(False, alias="insecureSkipTLSVerify")
    expression_filter: str | None = Field(None, alias="expressionFilter", min_length=1)
    since: str | None = None
    blobless: bool = False

    @field_validator("since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value is not None and not re.match(
                r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", value):  # fmt: skip
            raise ValueError(f"since {value!r} is not an RFC 3339 time")
        return value

    @field_validator("allow_tags")
    @classmethod
    def _allow(cls, value: str | None) -> str | None:
        return _regex(value, "allowTags")

    @field_validator("allow_tags_regexes", "ignore_tags_regexes")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for v in value:
            _regex(v, "tag pattern")
        return value

    @field_validator("include_paths", "exclude_paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        return [_path_selector(v) for v in value]

    @property
    def effective_constraint(self) -> str | None:
        return self.constraint or self.semver_constraint

    @model_validator(mode="after")
    def _branch_only_for_branch(self) -> GitSubscription:
        if self.branch and self.commit_selection_strategy != "NewestFromBranch":
            raise ValueError("'branch' applies only to commitSelectionStrategy NewestFromBranch")
        return self


_CHART_REPO = re.compile(r"^(https?|oci)://[\w.\-]+(:\d+)?(/.*)*$")


class ChartSubscription(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    name: str | None = Field(None, min_length=1)
    semver_constraint: str | None = Field(None, alias="semverConstraint")
    discovery_limit: int = Field(20, alias="discoveryLimit", ge=1, le=100)

    @property
    def oci(self) -> bool:
        return self.repo_url.startswith("oci://")

    @model_validator(mode="after")
    def _name_for_classic(self) -> ChartSubscription:
        if not _CHART_REPO.match(self.repo_url):
            raise ValueError(f"repoURL {self.repo_url!r} is not an oci:// or http(s):// URL")
        if self.oci and self.name:
            raise ValueError("'name' must not be set for an oci:// repository (it is the chart)")
        if not self.oci and not self.name:
            raise ValueError("'name' is required for an http(s):// chart repository")
        return self


class Subscription(_Strict):
    name: str | None = Field(None, min_length=1)
    image: ImageSubscription | None = None
    git: GitSubscription | None = None
    chart: ChartSubscription | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Subscription:
        if sum(x is not None for x in (self.image, self.git, self.chart)) != 1:
            raise ValueError("a subscription needs exactly one of 'image', 'git' or 'chart'")
        return self


class FreightCreationCriteria(_Strict):
    expression: str = Field(min_length=1)
    """An expr-lang condition over ``imageFrom``/``commitFrom`` of the new Freight."""


class WarehouseSpec(_Strict):
    subscriptions: list[Subscription] = Field(min_length=1)
    freight_creation_policy: Literal["Automatic", "Manual"] = Field(
        "Automatic", alias="freightCreationPolicy"
    )
    interval: str = "5m0s"
    shard: str | None = None
    freight_creation_criteria: FreightCreationCriteria | None = Field(
        None, alias="freightCreationCriteria"
    )

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        duration_seconds(value)
        return value


class FreightOrigin(_Strict):
    kind: Literal["Warehouse"]
    name: str = Field(min_length=1)


class FreightImage(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    tag: str | None = None
    digest: str | None = None
    annotations: dict[str, str] | None = None


class FreightCommit(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    id: str | None = None
    branch: str | None = None
    tag: str | None = None
    message: str | None = None
    author: str | None = None
    committer: str | None = None


class FreightChart(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    name: str | None = None
    version: str | None = None


class FreightBody(_Strict):
    """A Freight's top-level fields (Freight has no ``spec``)."""

    origin: FreightOrigin
    alias: str | None = None
    images: list[FreightImage] = Field(default_factory=list)
    commits: list[FreightCommit] = Field(default_factory=list)
    charts: list[FreightChart] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_artifact(self) -> FreightBody:
        if not self.images and not self.commits and not self.charts:
            raise ValueError("a Freight needs at least one image, commit or chart")
        return self
