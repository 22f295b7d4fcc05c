"""The schema of Argo CD's ``ApplicationSet`` (``argoproj.io/v1alpha1``), as Argo CD documents it.

Generators: ``list`` (``elements``, ``elementsYaml``), ``git`` (``directories``
or ``files``, with ``exclude``, ``values``, ``pathParamPrefix``), ``clusters``
(``selector``, ``values``), ``matrix`` (two children), ``merge`` (``mergeKeys``)
and ``pullRequest`` (``github``, ``gitlab``, ``gitea``; ``filters``,
``requeueAfterSeconds``). Each may carry its own ``template`` and a
``selector`` on the parameters it makes. The Application ``template`` is read
loosely here (its strings are templates); each generated Application is
validated as an Application when it is rendered. What shipway does not build
(``strategy``, the SCM provider, cluster-decision-resource and plugin
generators, other pull-request providers) is refused at apply with its path.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LabelRequirement(_Strict):
    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)


class LabelSelector(_Strict):
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: list[LabelRequirement] = Field(
        default_factory=list, alias="matchExpressions"
    )


class TemplateMeta(_Strict):
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)


class AppTemplate(_Strict):
    """An Application's metadata and spec whose strings are templates."""

    metadata: TemplateMeta = Field(default_factory=TemplateMeta)
    spec: dict[str, Any] = Field(default_factory=dict)


class PathGlob(_Strict):
    path: str = Field(min_length=1)
    exclude: bool = False


class ListGenerator(_Strict):
    elements: list[dict[str, Any]] = Field(default_factory=list)
    elements_yaml: str = Field("", alias="elementsYaml")
    template: AppTemplate | None = None


class GitGenerator(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    revision: str = "HEAD"
    directories: list[PathGlob] = Field(default_factory=list)
    files: list[PathGlob] = Field(default_factory=list)
    values: dict[str, str] = Field(default_factory=dict)
    path_param_prefix: str = Field("", alias="pathParamPrefix")
    requeue_after_seconds: int | None = Field(None, alias="requeueAfterSeconds", ge=0)
    template: AppTemplate | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> GitGenerator:
        if bool(self.directories) == bool(self.files):
            raise ValueError("a git generator needs 'directories' or 'files' (one of them)")
        return self


class ClusterGenerator(_Strict):
    selector: LabelSelector = Field(default_factory=LabelSelector)
    values: dict[str, str] = Field(default_factory=dict)
    template: AppTemplate | None = None


class TokenRef(_Strict):
    secret_name: str = Field(
        alias="secretName",
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    )
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")


class GitHubPulls(_Strict):
    owner: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    api: str = ""
    token_ref: TokenRef | None = Field(None, alias="tokenRef")
    labels: list[str] = Field(default_factory=list)


class GitLabPulls(_Strict):
    project: str = Field(min_length=1)
    api: str = ""
    token_ref: TokenRef | None = Field(None, alias="tokenRef")
    labels: list[str] = Field(default_factory=list)
    pull_request_state: Literal["", "opened"] = Field("opened", alias="pullRequestState")
    """Only open merge requests make previews here (other states are refused)."""
    insecure: bool = False


class GiteaPulls(_Strict):
    owner: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    api: str = Field(min_length=1)
    token_ref: TokenRef | None = Field(None, alias="tokenRef")
    labels: list[str] = Field(default_factory=list)
    insecure: bool = False


class PullFilter(_Strict):
    branch_match: str | None = Field(None, alias="branchMatch")
    target_branch_match: str | None = Field(None, alias="targetBranchMatch")


class PullRequestGenerator(_Strict):
    github: GitHubPulls | None = None
    gitlab: GitLabPulls | None = None
    gitea: GiteaPulls | None = None
    filters: list[PullFilter] = Field(default_factory=list)
    requeue_after_seconds: int | None = Field(None, alias="requeueAfterSeconds", ge=0)
    template: AppTemplate | None = None

    @model_validator(mode="before")
    @classmethod
    def _provider(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for other in ("bitbucket", "bitbucketServer", "azuredevops"):
                if other in value:
                    raise ValueError(
                        f"the {other} pull request provider is not supported by "
                        "shipway (use github, gitlab or gitea)"
                    )
            found = [k for k in ("github", "gitlab", "gitea") if value.get(k) is not None]
            if len(found) != 1:
                raise ValueError(
                    "a pullRequest generator needs one provider: github, gitlab or gitea"
                )
        return value


class Generator(_Strict):
    """One generator: exactly one kind, with an optional ``selector`` on its parameters."""

    list_: ListGenerator | None = Field(None, alias="list")
    git: GitGenerator | None = None
    clusters: ClusterGenerator | None = None
    matrix: MatrixGenerator | None = None
    merge: MergeGenerator | None = None
    pull_request: PullRequestGenerator | None = Field(None, alias="pullRequest")
    selector: LabelSelector | None = None

    @model_validator(mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for other in ("scmProvider", "clusterDecisionResource", "plugin"):
                if other in value:
                    raise ValueError(f"the {other} generator is not supported by shipway")
            kinds = [k for k in GENERATOR_KINDS if value.get(k) is not None]
            if len(kinds) != 1:
                raise ValueError(
                    f"a generator needs exactly one of {', '.join(GENERATOR_KINDS)}"
                    + (f" (found {', '.join(kinds)})" if kinds else "")
                )
        return value


GENERATOR_KINDS = ("list", "git", "clusters", "matrix", "merge", "pullRequest")


class MatrixGenerator(_Strict):
    generators: list[Generator] = Field(min_length=2, max_length=2)
    template: AppTemplate | None = None


class MergeGenerator(_Strict):
    merge_keys: list[str] = Field(alias="mergeKeys", min_length=1)
    generators: list[Generator] = Field(min_length=1)
    template: AppTemplate | None = None


class AppSetSyncPolicy(_Strict):
    preserve_resources_on_deletion: bool = Field(False, alias="preserveResourcesOnDeletion")
    applications_sync: Literal["create-only", "create-update", "create-delete", "sync"] = Field(
        "sync", alias="applicationsSync"
    )


class PreservedFields(_Strict):
    annotations: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)


class ApplicationSetSpec(_Strict):
    generators: list[Generator] = Field(min_length=1)
    template: AppTemplate
    go_template: bool = Field(False, alias="goTemplate")
    go_template_options: list[
        Literal["missingkey=error", "missingkey=zero", "missingkey=default", "missingkey=invalid"]
    ] = Field(default_factory=list, alias="goTemplateOptions")
    template_patch: str = Field("", alias="templatePatch")
    sync_policy: AppSetSyncPolicy | None = Field(None, alias="syncPolicy")
    preserved_fields: PreservedFields | None = Field(None, alias="preservedFields")

    @model_validator(mode="before")
    @classmethod
    def _not_built(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key, what in (
                ("strategy", "progressive syncs (spec.strategy)"),
                ("ignoreApplicationDifferences", "ignoreApplicationDifferences"),
            ):
                if value.get(key) is not None:
                    raise ValueError(f"{what} is not supported by shipway; remove it")
        return value

    @model_validator(mode="after")
    def _options(self) -> ApplicationSetSpec:
        if self.template_patch and not self.go_template:
            raise ValueError("templatePatch needs goTemplate: true")
        return self


Generator.model_rebuild()
MatrixGenerator.model_rebuild()
MergeGenerator.model_rebuild()
