"""Namespaces: keying by (group, kind, namespace, name), each kind's default, -n at parse time,
Kargo's cluster-scoped Project, and Argo CD's app names (``web``, ``dev/web``, ``dev_web``)."""

from __future__ import annotations

import pytest

from shipway.model import namespaces
from shipway.model import resources as model
from shipway.model.errors import ResourceError

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web{ns}}}
spec:
  source: {{repoURL: "git://127.0.0.1/config.git", path: app}}
  destination: {{name: local, namespace: web}}
"""
PIPELINE = """\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {name: build}
spec: {source: {repoURL: "git://127.0.0.1/app.git"}}
"""
PROJECT = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: shop, namespace: ignored}
spec:
  promotionPolicies: [{stageSelector: {name: test}, autoPromotionEnabled: true}]
"""


def _one(text: str, **kw: str) -> model.Resource:
    (res,) = model.parse_text(text, "r.yaml", **kw)
    return res


def test_two_apps_of_one_name_in_two_namespaces_are_two_resources() -> None:
    both = model.parse_text(
        APP.format(ns=", namespace: dev") + "---\n" + APP.format(ns=", namespace: prod"), "r.yaml"
    )
    assert [r.ref for r in both] == [
        ("argoproj.io", "Application", "dev", "web"),
        ("argoproj.io", "Application", "prod", "web"),
    ]
    model.check_unique(both)
    assert [r.key for r in both] == ["Application/dev/web", "Application/prod/web"]


def test_duplicate_in_one_namespace_is_refused_across_files() -> None:
    a = model.parse_text(APP.format(ns=", namespace: dev"), "a.yaml")
    b = model.parse_text(APP.format(ns=", namespace: dev"), "b.yaml")
    with pytest.raises(ResourceError, match=r"Application/dev/web is also defined at a\.yaml:1"):
        model.check_unique(a + b)


def test_defaults_per_kind() -> None:
    assert _one(APP.format(ns="")).namespace == "argocd"
    assert _one(PIPELINE).namespace == "default"
    assert _one(PIPELINE, current="team").namespace == "team"  # SHIPWAY_NAMESPACE / context
    assert _one(APP.format(ns=""), current="team").namespace == "argocd"
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {a: b}\n"
    assert _one(cm % "argocd-rbac-cm").namespace == "argocd"
    assert _one(cm % "settings").namespace == "default"
    cluster = "apiVersion: shipway.dev/v1alpha1\nkind: Cluster\nmetadata: {name: e}\n"
    assert _one(cluster + "spec: {type: podman}\n", namespace="x").namespace == ""


def test_the_namespace_is_written_into_metadata() -> None:
    res = _one(APP.format(ns=""))
    assert res.metadata["namespace"] == "argocd"
    assert res.to_dict()["metadata"] == {"name": "web", "namespace": "argocd"}


def test_dash_n_fills_missing_namespaces_and_refuses_a_mismatch() -> None:
    assert _one(APP.format(ns=""), namespace="dev").namespace == "dev"
    assert _one(APP.format(ns=", namespace: dev"), namespace="dev").namespace == "dev"
    with pytest.raises(ResourceError) as err:
        _one(APP.format(ns=", namespace: a"), namespace="b")
    assert str(err.value.message) == (
        'the namespace from the provided object "a" does not match the namespace "b". '
        "You must pass '--namespace=a' to perform this operation."
    )
    assert err.value.subject == "r.yaml:3:23"  # the namespace key in the flow mapping


def test_a_bad_namespace_names_its_position() -> None:
    with pytest.raises(ResourceError, match="not a DNS label") as err:
        _one(APP.format(ns=", namespace: Dev_1"))
    assert err.value.subject is not None and err.value.subject.startswith("r.yaml:3:")


def test_kargo_project_is_cluster_scoped_and_permissive() -> None:
    res = _one(PROJECT)
    assert res.ref == ("kargo.akuity.io", "Project", "", "shop")
    assert "namespace" not in res.metadata
    assert res.spec["promotionPolicies"][0]["autoPromotionEnabled"] is True
    assert model.canonical_kind("projects") == "Project"
    assert model.canonical_kind("projects.kargo.akuity.io") == "Project"
    assert model.canonical_kind("appprojects") == "AppProject"
    with pytest.raises(ResourceError, match="unknown kind"):
        model.canonical_kind("projects.argoproj.io")
    with pytest.raises(ResourceError, match="apiVersion"):
        _one(PROJECT.replace("kargo.akuity.io/v1alpha1", "kargo.akuity.io/v1"))


@pytest.mark.parametrize(
    ("ref", "namespace", "expected"),
    [
        ("web", None, ("argocd", "web")),
        ("web", "dev", ("dev", "web")),
        ("dev/web", None, ("dev", "web")),
        ("dev_web", None, ("dev", "web")),
        ("my-app.v2", None, ("argocd", "my-app.v2")),
    ],
)
def test_app_names(ref: str, namespace: str | None, expected: tuple[str, str]) -> None:
    assert namespaces.split_app(ref, namespace) == expected
    ns, name = expected
    key = namespaces.app_key(ref, namespace)
    assert key == (name if ns == "argocd" else f"{ns}_{name}")
    assert namespaces.split_app(key) == expected  # the key reads back
    assert namespaces.qualified(ns, name) == (name if ns == "argocd" else f"{ns}/{name}")
