"""Rendered hook manifests: ``generateName`` is accepted on hooks only, with clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.deploy import render, sync
from shipway.model.errors import InputError


def _job(meta: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta}


def test_generate_name_on_a_hook() -> None:
    argo = _job({"generateName": "migrate-", "annotations": {"argocd.argoproj.io/hook": "PreSync"}})
    helm = _job({"generateName": "migrate-", "annotations": {"helm.sh/hook": "post-install"}})
    out = render.validate([("a.yaml", argo), ("b.yaml", helm)], namespace="team")
    assert [m["metadata"]["namespace"] for m in out] == ["team", "team"]


def test_generate_name_on_a_plain_object_is_refused() -> None:
    plain = _job({"generateName": "migrate-"})
    with pytest.raises(InputError) as err:
        render.validate([("apps/a.yaml", plain)])
    assert err.value.subject == "apps/a.yaml"
    assert "missing metadata.name (generateName is for hooks only)" in str(err.value)


def test_two_hooks_with_one_generate_name_get_their_own_names() -> None:
    pre = _job({"generateName": "m-", "annotations": {"argocd.argoproj.io/hook": "PreSync"}})
    post = _job({"generateName": "m-", "annotations": {"argocd.argoproj.io/hook": "PostSync"}})
    hooks = render.validate([("a.yaml", pre), ("b.yaml", post)])
    plan = sync.plan([], hooks, prune=False, revision="abc", started=5)
    assert [t.name for t in plan.tasks] == ["m-abc-presync-5", "m-abc-postsync-5"]
