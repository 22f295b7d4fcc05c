"""Helpers for the promotion runner's tests: a config repo with a kustomize overlay, a Freight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shipway.git.repo import Repo, ls_remote
from shipway.model.resources import parse_text

IMAGE = "registry.example/web"


def write(root: Path, rel: str, data: object) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def seed_config_repo(url: str, work: Path) -> str:
    """``base/`` (a Deployment) and ``stages/test/`` (a kustomization) on main; the commit."""
    repo = Repo.init(work)
    repo.run("remote", "add", "origin", url)
    pod = {"terminationGracePeriodSeconds": 1,
           "containers": [{"name": "web", "image": f"{IMAGE}:0.0.1"}]}  # fmt: skip
    write(work, "base/deployment.yaml", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod}},
    })  # fmt: skip
    write(work, "base/kustomization.yaml", {"resources": ["deployment.yaml"]})
    write(work, "stages/test/kustomization.yaml", {"resources": ["../../base"]})
    repo.add_all()
    sha = repo.commit("seed")
    repo.push("origin", "HEAD:refs/heads/main")
    return sha


def freight(tag: str = "1.2.3", name: str = "f00dfeed1234") -> dict[str, Any]:
    return {
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
        "metadata": {"name": name, "namespace": "demo"}, "alias": "brave-otter",
        "origin": {"kind": "Warehouse", "name": "web"},
        "images": [{"repoURL": IMAGE, "tag": tag, "digest": "sha256:" + "a" * 64}],
    }  # fmt: skip


def application(url: str, target: str, *, authorized: str | None = "demo:test") -> Any:
    meta: dict[str, Any] = {"name": "web-test"}
    if authorized:
        meta["annotations"] = {"kargo.akuity.io/authorized-stage": authorized}
    doc = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta,
        "spec": {"project": "default",
                 "source": {"repoURL": url, "path": ".", "targetRevision": "stage/test"},
                 "destination": {"name": target, "namespace": "default"}},
    }  # fmt: skip
    return parse_text(yaml.safe_dump(doc), "app.yaml")[0]


def quickstart_steps(url: str) -> list[dict[str, Any]]:
    """Kargo's quickstart: render the stage's overlay with the new image onto its own branch."""
    return [
        {"uses": "git-clone", "config": {"repoURL": url, "checkout": [
            {"branch": "main", "path": "./src"},
            {"branch": "stage/test", "create": True, "path": "./out"}]}},
        {"uses": "git-clear", "config": {"path": "./out"}},
        {"uses": "kustomize-set-image", "as": "update-image", "config": {
            "path": "./src/stages/test",
            "images": [{"image": IMAGE, "tag": "${{ imageFrom('" + IMAGE + "').Tag }}"}]}},
        {"uses": "kustomize-build", "config": {"path": "./src/stages/test", "outPath": "./out"}},
        {"uses": "git-commit", "as": "commit", "config": {
            "path": "./out", "message": "${{ outputs['update-image'].commitMessage }}"}},
        {"uses": "git-push", "as": "push", "config": {"path": "./out"}},
        {"uses": "argocd-update", "config": {"apps": [{"name": "web-test", "sources": [
            {"repoURL": url, "desiredRevision": "${{ outputs.push.commit }}"}]}]}},
    ]  # fmt: skip


def remote_refs(url: str) -> dict[str, str]:
    return ls_remote(url)
