"""Schemas of the resource kinds shipway stores, read as their owners define them.

- ``Application`` and ``AppProject`` (``argoproj.io/v1alpha1``): Argo CD's own shape.
- ``ImageRepository``, ``ImagePolicy``, ``ImageUpdateAutomation``
  (``image.toolkit.fluxcd.io``): Flux image automation's shape.
- ``Secret`` and ``Namespace`` (``v1``): ``shipway.model.secrets``.
- ``Cluster`` (``shipway.dev/v1alpha1``): a podman host or a Kubernetes context.
- ``Pipeline`` (``shipway.dev/v1alpha1``): a source repo bound to its workflows and apps.
- ``Project`` (``kargo.akuity.io/v1alpha1``): Kargo's Project, a namespace (cluster-scoped);
  its optional spec holds ``promotionPolicies`` (Kargo's older location).
- ``Warehouse`` and ``Freight`` (``kargo.akuity.io/v1alpha1``): ``shipway.model.kargo``.
- ``Stage``: ``shipway.model.kargo_stage``; ``Promotion``: ``shipway.model.kargo_promotion``;
  ``PromotionTask`` and ``ClusterPromotionTask``: ``shipway.model.kargo_steps``;
  ``ProjectConfig`` (and ``Project``'s spec): ``shipway.model.kargo_project``.
- ``ApplicationSet`` (``argoproj.io/v1alpha1``): ``shipway.model.appset``.
- ``AnalysisTemplate``, ``ClusterAnalysisTemplate``, ``AnalysisRun``
  (``argoproj.io/v1alpha1``, Argo Rollouts): ``shipway.model.rollouts``.
- ``ClusterPolicy`` and ``Policy`` (``kyverno.io/v1``, ``v2beta1``), their ``verifyImages`` rules:
  ``shipway.model.kyverno``.
- ``Provider``, ``Alert``, ``Receiver`` (``notification.toolkit.fluxcd.io``, Flux's
  notification-controller): ``shipway.model.flux_notify``.
- ``TriggerTemplate``, ``TriggerBinding``, ``ClusterTriggerBinding``, ``EventListener``,
  ``Trigger`` (``triggers.tekton.dev/v1beta1``), ``ClusterInterceptor``, ``Interceptor``
  (``v1alpha1``): checked by ``shipway.model.tekton_triggers``.

Unknown keys in a spec are refused (a typo should not silently do nothing),
except inside tool option blocks that those tools extend often. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shipway.model import kindnames
from shipway.model.appset import ApplicationSetSpec
from shipway.model.flux_notify import AlertSpec, ProviderSpec, ReceiverSpec
from shipway.model.kargo import FreightBody, WarehouseSpec
from shipway.model.kargo_project import KargoProjectSpec, ProjectConfigSpec
from shipway.model.kargo_promotion import PromotionSpec
from shipway.model.kargo_stage import StageSpec
from shipway.model.kargo_steps import PromotionTaskSpec
from shipway.model.kyverno import KyvernoPolicySpec
from shipway.model.rollouts import AnalysisRunSpec, AnalysisTemplateSpec
from shipway.model.secrets import NamespaceSpec, SecretBody


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AppSource(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    path: str | None = None
    target_revision: str | None = Field(default=None, alias="targetRevision")
    chart: str | None = None
    ref: str | None = None
    name: str | None = None
    directory: _Open | None = None
    kustomize: _Open | None = None
    helm: _Open | None = None
    plugin: _Open | None = None


class Destination(_Strict):
    server: str | None = None
    name: str | None = None
    namespace: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Destination:
        if not self.server and not self.name:
            raise ValueError("destination needs 'server' or 'name'")
        return self


class Automated(_Strict):
    prune: bool = False
    self_heal: bool = Field(default=False, alias="selfHeal")
    allow_empty: bool = Field(default=False, alias="allowEmpty")
    enabled: bool | None = None


class Backoff(_Strict):
    duration: str | None = None
    factor: int | None = None
    max_duration: str | None = Field(default=None, alias="maxDuration")


class Retry(_Strict):
    limit: int | None = None
    backoff: Backoff | None = None


class SyncPolicy(_Strict):
    automated: Automated | None = None
    sync_options: list[str] = Field(default_factory=list, alias="syncOptions")
    retry: Retry | None = None
    managed_namespace_metadata: _Open | None = Field(default=None, alias="managedNamespaceMetadata")


class IgnoreDifference(_Strict):
    group: str | None = None
    kind: str
    name: str | None = None
    namespace: str | None = None
    json_pointers: list[str] = Field(default_factory=list, alias="jsonPointers")
    jq_path_expressions: list[str] = Field(default_factory=list, alias="jqPathExpressions")
    managed_fields_managers: list[str] = Field(default_factory=list, alias="managedFieldsManagers")


class ApplicationSpec(_Strict):
    project: str = "default"
    source: AppSource | None = None
    sources: list[AppSource] | None = None
    destination: Destination
    sync_policy: SyncPolicy | None = Field(default=None, alias="syncPolicy")
    ignore_differences: list[IgnoreDifference] = Field(
        default_factory=list, alias="ignoreDifferences"
    )
    revision_history_limit: int | None = Field(default=None, alias="revisionHistoryLimit")
    info: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_source(self) -> ApplicationSpec:
        if self.source is None and not self.sources:
            raise ValueError("an Application needs 'source' or 'sources'")
        return self


class ProjectSpec(_Open):
    source_repos: list[str] = Field(default_factory=list, alias="sourceRepos")
    destinations: list[Destination] = Field(default_factory=list)


class ClusterSpec(_Strict):
    type: Literal["podman", "kubernetes"]
    kubeconfig: str | None = None
    context: str | None = None
    server: str | None = None
    podman_url: str | None = Field(default=None, alias="podmanURL")

    @model_validator(mode="after")
    def _kube_needs_config(self) -> ClusterSpec:
        if self.type == "kubernetes" and not (self.kubeconfig or self.server):
            raise ValueError("a kubernetes Cluster needs 'kubeconfig' (and 'context') or 'server'")
        return self


class SecretRef(_Strict):
    name: str


class ImageRepositorySpec(_Strict):
    image: str = Field(min_length=1)
    interval: str | None = None
    insecure: bool = False
    secret_ref: SecretRef | None = Field(default=None, alias="secretRef")
    exclusion_list: list[str] = Field(default_factory=list, alias="exclusionList")
    provider: str | None = None
    timeout: str | None = None
    suspend: bool = False


class TagFilter(_Strict):
    pattern: str
    extract: str | None = None


class PolicyChoice(_Strict):
    semver: dict[str, str] | None = None
    alphabetical: dict[str, str] | None = None
    numerical: dict[str, str] | None = None


class ImagePolicySpec(_Strict):
    image_repository_ref: SecretRef = Field(alias="imageRepositoryRef")
    policy: PolicyChoice
    filter_tags: TagFilter | None = Field(default=None, alias="filterTags")
    digest_reflection_policy: str | None = Field(default=None, alias="digestReflectionPolicy")


class ImageUpdateAutomationSpec(_Open):
    interval: str | None = None
    source_ref: dict[str, Any] = Field(alias="sourceRef")
    git: dict[str, Any] | None = None
    update: dict[str, Any] | None = None


class PipelineSource(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    branches: list[str] = Field(default_factory=lambda: ["main"])


class PipelineForge(_Strict):
    """The forge that hosts the source: CI results go back to it as commit statuses."""

    kind: Literal["github", "gitlab", "gitea"]
    api_url: str = Field("", alias="apiURL")
    """Default: derived from ``source.repoURL`` (``https://api.github.com`` for github.com)."""
    project: str = ""
    """``owner/name`` (GitLab: the full path); default: taken from ``source.repoURL``."""
    token_env: str = Field("SHIPWAY_FORGE_TOKEN", alias="tokenEnv")


class PipelineEnvironment(_Strict):
    """A deployment environment: vars, secrets (from a file) and protection rules."""

    vars: dict[str, str] = Field(default_factory=dict)
    secrets_file: str | None = Field(None, alias="secretsFile")
    """``NAME=VALUE`` lines; relative paths are under ``$SHIPWAY_HOME``."""
    deployment_branches: list[str] | None = Field(None, alias="deploymentBranches")
    deployment_tags: list[str] | None = Field(None, alias="deploymentTags")
    wait_timer: float = Field(0, alias="waitTimer", ge=0)
    """Minutes a job waits before it starts."""
    required_reviewers: list[str] = Field(default_factory=list, alias="requiredReviewers")
    """Jobs wait for ``shipway ci approve RUN --environment NAME``."""


class PipelineRunner(_Strict):
    """Where the pipeline's jobs run (``shipway ci run --executor``, ``-P``, ``--cluster``)."""

    executor: Literal["host", "podman", "kubernetes"] = "host"
    image: str = ""
    """The image of jobs without ``container:`` (podman and kubernetes executors)."""
    platforms: dict[str, str] = Field(default_factory=dict)
    """``runs-on`` label -> image (``-self-hosted``: on the host), as act's ``-P``."""
    cluster: str = ""
    """A kubernetes ``Cluster`` resource to run job Pods on (else the default kubeconfig)."""
    namespace: str = ""
    pvc: str = ""
    """A PersistentVolumeClaim shared with the job Pods (else hostPath)."""
    concurrent: int = Field(1, ge=1, le=64)
    """How many jobs of a GitLab CI pipeline run at once (a GitLab runner's ``concurrent``)."""
    pod_template: dict[str, Any] | None = Field(None, alias="podTemplate")
    """A Pod merged into the job Pods (labels, nodeSelector, tolerations, a ``job`` container's
    resources...), as ``ci run --kube-pod-template``."""

    @model_validator(mode="after")
    def _kube_only(self) -> PipelineRunner:
        for key in ("cluster", "namespace", "pvc", "pod_template"):
            if getattr(self, key) and self.executor != "kubernetes":
                raise ValueError(f"'{key}' needs executor: kubernetes")
        return self


class PipelineSpec(_Strict):
    """Binds a source repository to the CI workflows it runs and the apps it feeds."""

    source: PipelineSource
    workflows: list[str] = Field(default_factory=list)
    applications: list[str] = Field(default_factory=list)
    vars: dict[str, str] = Field(default_factory=dict)
    registry_aliases: dict[str, str] = Field(default_factory=dict, alias="registryAliases")
    """Registry hosts a workflow names (``ghcr.io``) mapped to the one it pushes to here."""
    git_url: str = Field("", alias="gitURL")
    """Base URL of other ``owner/name`` repos (checkout, remote actions): CI's git source."""
    forge: PipelineForge | None = None
    runner: PipelineRunner | None = None
    environments: dict[str, PipelineEnvironment] = Field(default_factory=dict)
    """Deployment environments of the workflows' jobs (``environment:``), GitHub's rules."""


class ConfigMapData(_Strict):
    """A ConfigMap's ``data``: string keys to string values, as the API server requires."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("data must be a mapping of strings")
        for key, item in value.items():
            if not isinstance(item, str):
                raise ValueError(f"data.{key} must be a string")
        return value


class TektonTriggersSpec(BaseModel):
    """Tekton Triggers' kinds: any mapping here; their fields are checked strictly by
    ``shipway.model.tekton_triggers`` (Tekton's own field tables, every problem at once)."""

    model_config = ConfigDict(extra="allow")


SCHEMAS: dict[str, type[BaseModel]] = {
    "ConfigMap": ConfigMapData,
    "Secret": SecretBody,
    "Namespace": NamespaceSpec,
    "Pipeline": PipelineSpec,
    "Application": ApplicationSpec,
    "AppProject": ProjectSpec,
    "ApplicationSet": ApplicationSetSpec,
    "Cluster": ClusterSpec,
    "ImageRepository": ImageRepositorySpec,
    "ImagePolicy": ImagePolicySpec,
    "ImageUpdateAutomation": ImageUpdateAutomationSpec,
    "Project": KargoProjectSpec,
    "Warehouse": WarehouseSpec,
    "Freight": FreightBody,
    "Stage": StageSpec,
    "Promotion": PromotionSpec,
    "PromotionTask": PromotionTaskSpec,
    "ClusterPromotionTask": PromotionTaskSpec,
    "ProjectConfig": ProjectConfigSpec,
    "AnalysisTemplate": AnalysisTemplateSpec,
    "ClusterAnalysisTemplate": AnalysisTemplateSpec,
    "AnalysisRun": AnalysisRunSpec,
    "ClusterPolicy": KyvernoPolicySpec,
    "Policy": KyvernoPolicySpec,
    "Provider": ProviderSpec,
    "Alert": AlertSpec,
    "Receiver": ReceiverSpec,
    "TriggerTemplate": TektonTriggersSpec,
    "TriggerBinding": TektonTriggersSpec,
    "ClusterTriggerBinding": TektonTriggersSpec,
    "EventListener": TektonTriggersSpec,
    "Trigger": TektonTriggersSpec,
    "ClusterInterceptor": TektonTriggersSpec,
    "Interceptor": TektonTriggersSpec,
}

API_VERSIONS = kindnames.API_VERSIONS
ALIASES = kindnames.ALIASES
