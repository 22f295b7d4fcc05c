"""Config models of Kargo's Helm promotion steps: helm-update-image, helm-update-chart,
helm-template. Field names, enums and defaults are Kargo's step reference; unknown fields
are refused (``kargo_step_configs`` validates with these). Pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Origin(_Strict):
    kind: Literal["Warehouse"] = "Warehouse"
    name: str = Field(min_length=1)


IMAGE_VALUES = ("Tag", "Digest", "ImageAndTag", "ImageAndDigest")
"""The ``images[].value`` words that take the image from the Freight; any other value is
written as given (an expression's result, as later Kargo releases write it)."""


class HelmImage(_Strict):
    image: str = Field(min_length=1)
    from_origin: Origin | None = Field(None, alias="fromOrigin")
    key: str = Field(min_length=1)
    value: str = Field(min_length=1)


class HelmUpdateImage(_Strict):
    path: str = Field(min_length=1)
    """The values file to edit."""
    images: list[HelmImage] = Field(min_length=1)


class HelmChartDep(_Strict):
    repository: str = Field(min_length=1)
    name: str = Field(min_length=1)
    alias: str | None = Field(None, min_length=1)
    version: str | None = Field(None, min_length=1)
    """Omitted: the version of this chart in the promotion's Freight (older Kargo)."""
    from_origin: Origin | None = Field(None, alias="fromOrigin")


class HelmUpdateChart(_Strict):
    path: str = Field(min_length=1)
    """The chart's directory (holding ``Chart.yaml``)."""
    charts: list[HelmChartDep] = Field(default_factory=list)


class SetValue(_Strict):
    key: str = Field(min_length=1)
    value: str = ""


class HelmTemplate(_Strict):
    path: str = Field(min_length=1)
    out_path: str = Field(alias="outPath", min_length=1)
    out_layout: Literal["helm", "flat"] = Field("helm", alias="outLayout")
    release_name: str | None = Field(None, alias="releaseName", min_length=1)
    use_release_name: bool = Field(False, alias="useReleaseName")
    namespace: str | None = Field(None, min_length=1)
    values_files: list[str] = Field(default_factory=list, alias="valuesFiles")
    build_dependencies: bool = Field(False, alias="buildDependencies")
    include_crds: bool = Field(False, alias="includeCRDs")
    disable_hooks: bool = Field(False, alias="disableHooks")
    skip_tests: bool = Field(False, alias="skipTests")
    kube_version: str | None = Field(None, alias="kubeVersion", min_length=1)
    api_versions: list[str] = Field(default_factory=list, alias="apiVersions")
    set_values: list[SetValue] = Field(default_factory=list, alias="setValues")
