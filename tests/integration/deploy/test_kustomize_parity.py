"""shipway's rendered output equals ``kubectl kustomize`` on the test applications.

The kustomize sources are the ones the podman sync and monorepo tests deploy
(a base with an overlay that patches it, a base shared across directories)
plus an Application's ``kustomize`` options, which Argo CD applies as an
overlay of ``images``/``namePrefix``/``commonLabels``/``namespace``/``replicas``:
for those the expected output is ``kubectl kustomize`` of a kustomization
written by hand with the same fields. Both sides are compared as parsed objects.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import commit, write
from test_podman_sync import _base, _overlay

from shipway.deploy import compare
from shipway.deploy.sources import Renderer

pytestmark = pytest.mark.integration


def _kubectl_kustomize(directory: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["kubectl", "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _by_key(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    def key(o: dict[str, Any]) -> str:
        meta = o.get("metadata") or {}
        return f"{o['apiVersion']}/{o['kind']}/{meta.get('namespace', '')}/{meta['name']}"

    return {key(o): o for o in objs}


def _rendered(renderer: Renderer, url: str, path: str, **opts: Any) -> list[dict[str, Any]]:
    source = {"repoURL": url, "path": path, "targetRevision": "main", **opts}
    return [m for _, m in renderer.render(source, "parity").manifests]


def test_rendered_output_equals_kubectl_kustomize(deploy_env, config_repo) -> None:
    url, work = config_repo
    root = work.path
    _base(root, "registry.example/web:v1", 30080, extra=True)
    _overlay(root, "from the overlay")
    write(
        root,
        "shared/cm.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shared"},
            "data": {"v": "1"},
        },
    )
    write(root, "shared/kustomization.yaml", {"resources": ["cm.yaml"]})
    write(
        root,
        "apps/k/kustomization.yaml",
        {"resources": ["../../shared"], "namespace": "team", "commonLabels": {"t": "k"}},
    )
    commit(work, "kustomize apps")
    renderer = compare.renderer(deploy_env.settings)
    for path in ("base", "overlays/dev", "apps/k"):
        got = _by_key(_rendered(renderer, url, path))
        want = _by_key(_kubectl_kustomize(root / path))
        assert got == want, path
    # the overlay really patched the base: the comparison is not of two identical inputs
    dev = _by_key(_rendered(renderer, url, "overlays/dev"))
    assert dev["v1/ConfigMap//web-config"]["data"] == {"message": "from the overlay"}


def test_application_kustomize_options_equal_a_kustomization(deploy_env, config_repo) -> None:
    url, work = config_repo
    root = work.path
    _base(root, "registry.example/web:v1", 30080, extra=False)
    commit(work, "base")
    options = {
        "images": ["registry.example/web=registry.example/other:v9"],
        "namePrefix": "dev-",
        "nameSuffix": "-x",
        "commonLabels": {"env": "dev"},
        "commonAnnotations": {"owner": "team"},
        "namespace": "dev",
        "replicas": [{"name": "web", "count": 3}],
    }
    renderer = compare.renderer(deploy_env.settings)
    got = _by_key(_rendered(renderer, url, "base", kustomize=options))
    by_hand = root / "by-hand"
    write(
        by_hand,
        "kustomization.yaml",
        {
            "resources": ["../base"],
            "images": [
                {
                    "name": "registry.example/web",
                    "newName": "registry.example/other",
                    "newTag": "v9",
                }
            ],
            "namePrefix": "dev-",
            "nameSuffix": "-x",
            "commonLabels": {"env": "dev"},
            "commonAnnotations": {"owner": "team"},
            "namespace": "dev",
            "replicas": [{"name": "web", "count": 3}],
        },
    )
    want = _by_key(_kubectl_kustomize(by_hand))
    assert got == want
    dep = got["apps/v1/Deployment/dev/dev-web-x"]
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example/other:v9"
    )
