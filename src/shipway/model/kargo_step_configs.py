"""Kargo promotion step configs, one strict pydantic model per step, and their validation.

Field names, enums and defaults are Kargo's (``kargo.akuity.io`` step
reference). A field shipway does not have is refused naming it, as the API
server refuses it. ``validate_step_config(uses, config)`` returns the
problems (``["config.checkout[0].bogus: unknown field"]``); a value that is
a ``${{ }}`` expression is checked at run time only (its type is known once
it is evaluated). ``parse_step_config`` validates an evaluated config and
returns the model. ``step_problems(kind, spec)`` is what apply refuses in a
Stage's, Promotion's or (Cluster)PromotionTask's steps, with each problem's
path in the document (``shipway.model.resources`` turns it into
``file:line:col``). ``shipway.promote.steps.config`` re-exports these names.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shipway.model import kargo_helm_configs as helm
from shipway.model.selectors import expressions_match


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- git ---------------------------------------------------------------------


class Checkout(_Strict):
    branch: str | None = None
    commit: str | None = None
    tag: str | None = None
    create: bool = False
    path: str = Field(min_length=1)
    as_: str | None = Field(None, alias="as", min_length=1)
    sparse: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_ref(self) -> Checkout:
        if sum(x is not None for x in (self.branch, self.commit, self.tag)) > 1:
            raise ValueError("a checkout takes at most one of branch, commit or tag")
        if self.create and not self.branch:
            raise ValueError("create applies only to a branch checkout")
        return self


class Author(_Strict):
    name: str | None = None
    email: str | None = None
    signing_key: str | None = Field(None, alias="signingKey")


class GitClone(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    insecure_skip_tls_verify: bool = Field(False, alias="insecureSkipTLSVerify")
    blobless: bool = False
    recurse_submodules: bool = Field(False, alias="recurseSubmodules")
    author: Author | None = None
    checkout: list[Checkout] = Field(min_length=1)


class GitClear(_Strict):
    path: str = Field(min_length=1)


class GitCommit(_Strict):
    path: str = Field(min_length=1)
    message: str = Field(min_length=1)
    author: Author | None = None


class GitPush(_Strict):
    path: str = Field(min_length=1)
    target_branch: str | None = Field(None, alias="targetBranch")
    generate_target_branch: bool = Field(False, alias="generateTargetBranch")
    max_attempts: int = Field(10, alias="maxAttempts", ge=1)
    provider: str | None = None
    force: bool = False
    tag: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _branch(self) -> GitPush:
        chosen = [n for n, v in (("targetBranch", self.target_branch),
                                 ("generateTargetBranch", self.generate_target_branch),
                                 ("tag", self.tag)) if v]  # fmt: skip
        if len(chosen) > 1:
            raise ValueError(f"{' and '.join(chosen)} are mutually exclusive")
        if self.tag and self.force:
            raise ValueError("force does not apply to a tag push")
        return self


Provider = Literal["github", "gitlab", "gitea", "azure", "bitbucket"]


class GitOpenPR(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    insecure_skip_tls_verify: bool = Field(False, alias="insecureSkipTLSVerify")
    provider: Provider | None = None
    source_branch: str = Field(alias="sourceBranch", min_length=1)
    target_branch: str = Field("main", alias="targetBranch", min_length=1)
    create_target_branch: bool = Field(False, alias="createTargetBranch")
    title: str | None = None
    description: str | None = None
    labels: list[str] = Field(default_factory=list)
    """Kargo deprecated ``createTargetBranch``: accepted and ignored, as Kargo does."""


class GitWaitForPR(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    insecure_skip_tls_verify: bool = Field(False, alias="insecureSkipTLSVerify")
    provider: Provider | None = None
    pr_number: int = Field(alias="prNumber", ge=1)
    poll_interval: str = Field("30s", alias="pollInterval")


class GitMergePR(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    insecure_skip_tls_verify: bool = Field(False, alias="insecureSkipTLSVerify")
    provider: Provider | None = None
    pr_number: int = Field(alias="prNumber", ge=1)
    merge_method: str | None = Field(None, alias="mergeMethod", min_length=1)
    wait: bool = False
    poll_interval: str = Field("10s", alias="pollInterval")


# -- files -------------------------------------------------------------------


class KustomizeImage(_Strict):
    image: str = Field(min_length=1)
    name: str | None = None
    tag: str | None = None
    digest: str | None = None
    new_name: str | None = Field(None, alias="newName")

    @model_validator(mode="after")
    def _one(self) -> KustomizeImage:
        if self.tag and self.digest:
            raise ValueError("tag and digest are mutually exclusive")
        return self


class KustomizeSetImage(_Strict):
    path: str = Field(min_length=1)
    images: list[KustomizeImage] = Field(default_factory=list)
    """Empty: every image of the promotion's Freight, as Kargo does."""


class KustomizeBuild(_Strict):
    path: str = Field(min_length=1)
    out_path: str = Field(alias="outPath", min_length=1)
    output_format: Literal["kargo", "kustomize"] = Field("kargo", alias="outputFormat")
    plugin: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_plugin(self) -> KustomizeBuild:
        if self.plugin is not None:
            raise ValueError("plugin (Helm inflation) is not supported yet")
        return self


class Update(_Strict):
    key: str = Field(min_length=1)
    value: Any


class YAMLUpdate(_Strict):
    path: str = Field(min_length=1)
    updates: list[Update] = Field(min_length=1)


class JSONUpdate(_Strict):
    path: str = Field(min_length=1)
    updates: list[Update] = Field(min_length=1)


class Copy(_Strict):
    in_path: str = Field(alias="inPath", min_length=1)
    out_path: str = Field(alias="outPath", min_length=1)
    ignore: str | None = None


class Delete(_Strict):
    path: str | None = Field(None, min_length=1)
    paths: list[str] = Field(default_factory=list)
    paths_are_globs: bool = Field(False, alias="pathsAreGlobs")
    strict: bool = False

    @model_validator(mode="after")
    def _one(self) -> Delete:
        if (self.path is None) == (not self.paths):
            raise ValueError("exactly one of path or paths is required")
        return self

    @property
    def targets(self) -> list[str]:
        return [self.path] if self.path is not None else list(self.paths)


# -- http, outputs, metadata, fail --------------------------------------------


class NameValue(_Strict):
    name: str = Field(min_length=1)
    value: str


class HTTPOutput(_Strict):
    name: str = Field(min_length=1)
    from_expression: str = Field(alias="fromExpression", min_length=1)


class HTTP(_Strict):
    method: str = "GET"
    url: str = Field(min_length=1)
    headers: list[NameValue] = Field(default_factory=list)
    query_params: list[NameValue] = Field(default_factory=list, alias="queryParams")
    body: str | None = None
    body_from_file: str | None = Field(None, alias="bodyFromFile", min_length=1)
    insecure_skip_tls_verify: bool = Field(False, alias="insecureSkipTLSVerify")
    proxy: str | None = Field(None, min_length=1)
    timeout: str = "10s"
    poll_interval: str = Field("10s", alias="pollInterval")
    response_content_type: Literal["application/json", "application/yaml", "text/plain"] | None = (
        Field(None, alias="responseContentType")
    )
    success_expression: str | None = Field(None, alias="successExpression")
    failure_expression: str | None = Field(None, alias="failureExpression")
    error_expression: str | None = Field(None, alias="errorExpression")
    outputs: list[HTTPOutput] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_body(self) -> HTTP:
        if self.body is not None and self.body_from_file is not None:
            raise ValueError("body and bodyFromFile are mutually exclusive")
        if self.proxy is not None and "://" not in self.proxy:
            raise ValueError("proxy must be a URL with a scheme")
        return self


class MetadataUpdate(_Strict):
    kind: Literal["Stage", "Freight"]
    name: str = Field(min_length=1)
    values: dict[str, Any] = Field(default_factory=dict)


class SetMetadata(_Strict):
    updates: list[MetadataUpdate] = Field(min_length=1)


class Fail(_Strict):
    message: str | None = None


# -- argocd-update -------------------------------------------------------------


class ArgoKustomizeImage(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    tag: str | None = None
    digest: str | None = None
    new_name: str | None = Field(None, alias="newName")


class ArgoKustomize(_Strict):
    images: list[ArgoKustomizeImage] = Field(min_length=1)


class ArgoHelmImage(_Strict):
    key: str = Field(min_length=1)
    value: str


class ArgoHelm(_Strict):
    images: list[ArgoHelmImage] = Field(min_length=1)


class ArgoSource(_Strict):
    repo_url: str = Field(alias="repoURL", min_length=1)
    chart: str | None = None
    desired_revision: str | None = Field(None, alias="desiredRevision")
    update_target_revision: bool = Field(False, alias="updateTargetRevision")
    kustomize: ArgoKustomize | None = None
    helm: ArgoHelm | None = None

    @model_validator(mode="after")
    def _revision_for_target(self) -> ArgoSource:
        if self.update_target_revision and not self.desired_revision:
            raise ValueError("updateTargetRevision: true needs desiredRevision (the revision "
                             "to point targetRevision at)")  # fmt: skip
        return self


class LabelRequirement(_Strict):
    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _values(self) -> LabelRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs values")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class AppSelector(_Strict):
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: list[LabelRequirement] = Field(default_factory=list,
                                                      alias="matchExpressions")  # fmt: skip

    @model_validator(mode="after")
    def _some(self) -> AppSelector:
        if not self.match_labels and not self.match_expressions:
            raise ValueError("a selector needs matchLabels or matchExpressions")
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        return expressions_match(
            self.match_labels,
            ((r.key, r.operator, r.values) for r in self.match_expressions),
            labels,
        )


class ArgoApp(_Strict):
    name: str | None = Field(None, min_length=1)
    namespace: str = "argocd"
    selector: AppSelector | None = None
    sources: list[ArgoSource] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one(self) -> ArgoApp:
        if (self.name is None) == (self.selector is None):
            raise ValueError("an app takes exactly one of name or selector")
        return self


class ArgoCDUpdate(_Strict):
    apps: list[ArgoApp] = Field(min_length=1)


CONFIGS: dict[str, type[BaseModel] | None] = {
    "git-clone": GitClone,
    "git-clear": GitClear,
    "git-commit": GitCommit,
    "git-push": GitPush,
    "git-open-pr": GitOpenPR,
    "git-wait-for-pr": GitWaitForPR,
    "git-merge-pr": GitMergePR,
    "kustomize-set-image": KustomizeSetImage,
    "kustomize-build": KustomizeBuild,
    "yaml-update": YAMLUpdate,
    "json-update": JSONUpdate,
    "copy": Copy,
    "delete": Delete,
    "http": HTTP,
    "compose-output": None,  # any mapping: each key becomes an output
    "set-metadata": SetMetadata,
    "fail": Fail,
    "argocd-update": ArgoCDUpdate,
    "helm-update-image": helm.HelmUpdateImage,
    "helm-update-chart": helm.HelmUpdateChart,
    "helm-template": helm.HelmTemplate,
}
"""Every step shipway runs, with its config model (``None``: a free mapping)."""


def _has_expr(value: Any) -> bool:
    return isinstance(value, str) and "${{" in value


def _where(loc: tuple[int | str, ...]) -> str:
    out = "config"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "missing":
        return "required field missing"
    return str(err["msg"]).removeprefix("Value error, ")


Path = tuple[int | str, ...]


def config_problems(uses: str, config: Any) -> list[tuple[Path, str]]:
    """``(path in the step, message)`` for each problem of step ``uses``; expressions pass."""
    if uses not in CONFIGS:
        known = ", ".join(sorted(CONFIGS))
        return [(("uses",), f"unknown step {uses!r} (shipway runs: {known})")]
    model = CONFIGS[uses]
    if config is None:
        config = {}
    if not isinstance(config, dict):
        return [(("config",), "config must be a mapping")]
    if model is None:
        return []
    try:
        model.model_validate(config)
    except ValidationError as exc:
        return [
            (("config", *e["loc"]), _message(e))
            for e in exc.errors()
            if not _has_expr(e.get("input")) and not _expr_in_model_error(e)
        ]
    return []


def validate_step_config(uses: str, config: Any) -> list[str]:
    """Problems with ``config`` for step ``uses`` (empty when fine); expressions pass."""
    out = []
    for path, msg in config_problems(uses, config):
        out.append(msg if path == ("uses",) else f"{_where(path[1:])}: {msg}")
    return out


_STEPS_AT: dict[str, Path] = {
    "Stage": ("promotionTemplate", "spec", "steps"),
    "Promotion": ("steps",),
    "PromotionTask": ("steps",),
    "ClusterPromotionTask": ("steps",),
}


def step_problems(kind: str, spec: Any) -> list[tuple[Path, str]]:
    """Step config problems in a resource's spec, each with its path from the spec."""
    at = _STEPS_AT.get(kind)
    if at is None or not isinstance(spec, dict):
        return []
    steps: Any = spec
    for key in at:
        steps = steps.get(key) if isinstance(steps, dict) else None
    if not isinstance(steps, list):
        return []
    out: list[tuple[Path, str]] = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("uses"), str):
            continue
        if step["uses"] not in CONFIGS:
            continue  # the step envelope's own check names an unknown step
        for path, msg in config_problems(step["uses"], step.get("config")):
            out.append(((*at, i, *path), msg))
    return out


def _expr_in_model_error(err: Any) -> bool:
    """A model-level rule that fails only because some field is still an expression."""
    value = err.get("input")
    return (
        err["type"] == "value_error"
        and isinstance(value, dict)
        and any(_has_expr(v) for v in value.values())
    )


def parse_step_config(uses: str, config: dict[str, Any]) -> Any:
    """The evaluated ``config`` as its model (``ValueError`` with the problems), or the mapping."""
    model = CONFIGS.get(uses)
    if uses not in CONFIGS:
        raise ValueError(validate_step_config(uses, config)[0])
    if model is None:
        return config
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'])}: {_message(e)}" for e in exc.errors()]
        raise ValueError("; ".join(problems)) from None
