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
        "repoURL": "u", "updateTargetRevision": True,
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
