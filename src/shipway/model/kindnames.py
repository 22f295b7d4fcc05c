"""The kinds shipway serves by name: their API versions and the words users type for them.

Plain data, no schemas (those are ``shipway.model.kinds``), so a read-only
command can map ``apps`` to ``Application`` without loading pydantic.
"""

from __future__ import annotations

from shipway.model.errors import ResourceError

_FLUX_NOTE = ["notification.toolkit.fluxcd.io/v1beta3", "notification.toolkit.fluxcd.io/v1beta2"]
_FLUX_IMAGE = ["image.toolkit.fluxcd.io/v1beta2", "image.toolkit.fluxcd.io/v1beta1"]
API_VERSIONS: dict[str, list[str]] = {
    "ConfigMap": ["v1"],
    "Secret": ["v1"],
    "Namespace": ["v1"],
    "Application": ["argoproj.io/v1alpha1"],
    "AppProject": ["argoproj.io/v1alpha1"],
    "ApplicationSet": ["argoproj.io/v1alpha1"],
    "Cluster": ["shipway.dev/v1alpha1"],
    "Pipeline": ["shipway.dev/v1alpha1"],
    "ImageRepository": _FLUX_IMAGE,
    "ImagePolicy": _FLUX_IMAGE,
    "ImageUpdateAutomation": [*_FLUX_IMAGE, "image.toolkit.fluxcd.io/v1"],
    "Project": ["kargo.akuity.io/v1alpha1"],
    "Warehouse": ["kargo.akuity.io/v1alpha1"],
    "Freight": ["kargo.akuity.io/v1alpha1"],
    "Stage": ["kargo.akuity.io/v1alpha1"],
    "Promotion": ["kargo.akuity.io/v1alpha1"],
    "PromotionTask": ["kargo.akuity.io/v1alpha1"],
    "ClusterPromotionTask": ["kargo.akuity.io/v1alpha1"],
    "ProjectConfig": ["kargo.akuity.io/v1alpha1"],
    "AnalysisTemplate": ["argoproj.io/v1alpha1"],
    "ClusterAnalysisTemplate": ["argoproj.io/v1alpha1"],
    "AnalysisRun": ["argoproj.io/v1alpha1"],
    "ClusterPolicy": ["kyverno.io/v1", "kyverno.io/v2beta1"],
    "Policy": ["kyverno.io/v1", "kyverno.io/v2beta1"],
    "Provider": _FLUX_NOTE,
    "Alert": _FLUX_NOTE,
    "Receiver": ["notification.toolkit.fluxcd.io/v1", "notification.toolkit.fluxcd.io/v1beta2"],
    "TriggerTemplate": ["triggers.tekton.dev/v1beta1"],
    "TriggerBinding": ["triggers.tekton.dev/v1beta1"],
    "ClusterTriggerBinding": ["triggers.tekton.dev/v1beta1"],
    "EventListener": ["triggers.tekton.dev/v1beta1"],
    "Trigger": ["triggers.tekton.dev/v1beta1"],
    "ClusterInterceptor": ["triggers.tekton.dev/v1alpha1"],
    "Interceptor": ["triggers.tekton.dev/v1alpha1"],
}
"""Each kind's served ``apiVersion`` values, the preferred one first."""

ALIASES: dict[str, str] = {}
"""What a user may type for a kind (lower case): its name, plural and short names."""
for _kind, _extra in {
    "ConfigMap": ["cm", "configmaps"],
    "Secret": ["secrets"],
    "Namespace": ["ns", "namespaces"],
    "Application": ["app", "apps", "applications"],
    "AppProject": ["appproj", "appprojects"],
    "ApplicationSet": ["applicationsets", "appset", "appsets"],
    "Cluster": ["clusters"],
    "Pipeline": ["pipelines"],
    "ImageRepository": ["imagerepo", "imagerepositories"],
    "ImagePolicy": ["imagepolicies"],
    "ImageUpdateAutomation": ["imageupdateautomations", "iua"],
    "Project": ["projects"],
    "Warehouse": ["warehouses"],
    "Freight": ["freights"],
    "Stage": ["stages"],
    "Promotion": ["promotions", "promo", "promos"],
    "PromotionTask": ["promotiontasks", "promotask", "promotasks"],
    "ClusterPromotionTask": ["clusterpromotiontasks", "clusterpromotask", "clusterpromotasks"],
    "ProjectConfig": ["projectconfigs"],
    "AnalysisTemplate": ["analysistemplates", "at"],
    "ClusterAnalysisTemplate": ["clusteranalysistemplates", "cat"],
    "AnalysisRun": ["analysisruns", "ar"],
    "ClusterPolicy": ["clusterpolicies", "cpol"],
    "Policy": ["policies", "pol"],
    "Provider": ["providers"],
    "Alert": ["alerts"],
    "Receiver": ["receivers"],
    "TriggerTemplate": ["triggertemplates", "tt"],
    "TriggerBinding": ["triggerbindings", "tb"],
    "ClusterTriggerBinding": ["clustertriggerbindings", "ctb"],
    "EventListener": ["eventlisteners", "el"],
    "Trigger": ["triggers"],
    "ClusterInterceptor": ["clusterinterceptors"],
    "Interceptor": ["interceptors"],
}.items():
    for _word in [_kind.lower(), *_extra]:
        ALIASES[_word] = _kind


def group_of(kind: str) -> str:
    """The API group a known kind is served in (``""`` for core ``v1`` kinds)."""
    return API_VERSIONS[kind][0].rpartition("/")[0]


def canonical_kind(word: str) -> str:
    """Map what a user types (``app``, ``applications``, ``projects.kargo.akuity.io``,
    ``Cluster``) to a kind name."""
    plain, _, group = word.partition(".")
    found = ALIASES.get(plain.lower())
    if found is not None and group and group_of(found) != group.lower():
        found = None
    if found is None:
        known = ", ".join(sorted(API_VERSIONS))
        raise ResourceError(f"unknown kind {word!r} (known: {known})", subject=word)
    return found
