"""argocd-update's edits of an Application source, and the authorized-stage check."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.model import kargo_step_configs as c
from shipway.promote.steps import argocd, base


def test_target_revision_kustomize_and_helm_images() -> None:
    params = [{"name": "image.tag", "value": "1.0"}, {"name": "x", "value": "y"}]
    src = {"repoURL": "u", "targetRevision": "main", "helm": {"parameters": params},
           "kustomize": {"images": ["reg/web:1.0", "reg/other:3"]}}  # fmt: skip
    upd = c.ArgoSource.model_validate({
        "repoURL": "u", "updateTargetRevision": True, "desiredRevision": "c0ffee",
        "kustomize": {"images": [{"repoURL": "reg/web", "tag": "2.0"},
                                 {"repoURL": "reg/new", "digest": "sha256:ab"}]},
        "helm": {"images": [{"key": "image.tag", "value": "2.0"}]},
    })  # fmt: skip
    argocd._update_source(src, upd, "c0ffee")
    assert src["targetRevision"] == "c0ffee"
    assert src["kustomize"]["images"] == ["reg/other:3", "reg/web:2.0", "reg/new@sha256:ab"]
    assert src["helm"]["parameters"] == [{"name": "x", "value": "y"},
                                         {"name": "image.tag", "value": "2.0"}]  # fmt: skip


def test_authorized_stage_annotation(tmp_path: Path) -> None:
    env = base.StepEnv(work=tmp_path, project="demo", stage="prod", promotion="p", freight={})
    ok = {"metadata": {"annotations": {argocd.AUTHORIZED: "demo:prod"}}}
    argocd._authorize(ok, env, "argocd/web")
    with pytest.raises(base.StepFailed, match="it has none"):
        argocd._authorize({"metadata": {}}, env, "argocd/web")
    other = {"metadata": {"annotations": {argocd.AUTHORIZED: "other:prod"}}}
    with pytest.raises(base.StepFailed, match="does not permit mutation by Kargo Stage demo:prod"):
        argocd._authorize(other, env, "argocd/web")


def _chart_app(store: object) -> None:
    from shipway.model.resources import parse_text
    from shipway.store import resources as store_resources

    doc = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: charts
  annotations: {kargo.akuity.io/authorized-stage: "demo:prod"}
spec:
  project: default
  destination: {name: local, namespace: default}
  sources:
  - {repoURL: https://charts.example.com, chart: frontend, targetRevision: 1.0.0}
  - {repoURL: https://charts.example.com, chart: backend, targetRevision: 1.0.0}
  - {repoURL: https://git.example.com/config.git, path: values, targetRevision: main, ref: v}
"""
    store_resources.apply(store, parse_text(doc, "app.yaml"))  # type: ignore[arg-type]


def _app(sources: list[dict[str, object]]) -> c.ArgoApp:
    return c.ArgoApp.model_validate({"name": "charts", "sources": sources})


def test_a_chart_source_is_matched_by_repository_and_chart(
    shipway_home: Path, tmp_path: Path
) -> None:
    from shipway.settings import Settings
    from shipway.store import resources as store_resources
    from shipway.store.db import open_store

    store = open_store(Settings())
    _chart_app(store)
    freight = {"commits": [{"repoURL": "https://git.example.com/config.git", "id": "c0ffee"}]}
    env = base.StepEnv(work=tmp_path, project="demo", stage="prod", promotion="p",
                       freight=freight, store=store)  # fmt: skip
    upd = {"repoURL": "https://charts.example.com", "chart": "backend",
           "desiredRevision": "2.0.0", "updateTargetRevision": True}  # fmt: skip
    _key, desired = argocd._prepare(env, _app([upd]))
    assert desired == "2.0.0"
    sources = store_resources.get(store, "Application", "charts").spec["sources"]
    assert [s["targetRevision"] for s in sources] == ["1.0.0", "2.0.0", "main"]
    # without chart, a chart repository's sources are not this source (Kargo's exact match)
    with pytest.raises(base.StepFailed, match=r"has no source https://charts\.example\.com$"):
        argocd._prepare(env, _app([{"repoURL": "https://charts.example.com",
                                    "desiredRevision": "3.0.0"}]))  # fmt: skip
    with pytest.raises(base.StepFailed, match=r"\(chart nope\)"):
        argocd._prepare(env, _app([{"repoURL": "https://charts.example.com", "chart": "nope"}]))
    # no desiredRevision: no revision is assumed, not even the Freight's commit of the repo
    _key, desired = argocd._prepare(env, _app([{"repoURL": "https://git.example.com/config"}]))
    assert desired is None
    _key, desired = argocd._prepare(env, _app([]))
    assert desired is None
    store.close()


def test_update_target_revision_needs_a_desired_revision() -> None:
    from shipway.model.errors import ResourceError
    from shipway.model.resources import parse_text

    stage = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: prod, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: argocd-update
        config:
          apps:
          - name: charts
            sources:
            - repoURL: https://charts.example.com
              chart: backend
              updateTargetRevision: true
"""
    with pytest.raises(ResourceError, match=r"s\.yaml:16:15: .*needs desiredRevision"):
        parse_text(stage, "s.yaml")
