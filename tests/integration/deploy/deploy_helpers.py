"""Small helpers for the reconciler's integration tests: config files, commits, HTTP."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from shipway.git.repo import Repo
from shipway.model import resources as model


def write(root: Path, rel: str, data: object) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    docs = data if isinstance(data, list) else [data]
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def commit(work: Repo, msg: str) -> str:
    work.add_all()
    sha = work.commit(msg)
    work.push("origin", "HEAD:refs/heads/main")
    return sha


def http_get(port: int, path: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
                return str(resp.read().decode()).strip()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def deployment(image: str, *, name: str = "web", wave: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if wave is not None:
        meta["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "httpd",
                            "image": image,
                            "ports": [{"containerPort": 8080}],
                            "env": [{"name": "MSG", "value": "plain"}],
                        }
                    ],
                },
            },
        },
    }


def service(port: int, *, name: str = "web", kind: str = "LoadBalancer") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": kind,
            "selector": {"app": name},
            "ports": [{"port": port, "targetPort": 8080}],
        },
    }


def application(
    url: str, name: str, path: str, *, automated: dict[str, Any] | None = None
) -> model.Resource:
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": url, "path": path, "targetRevision": "main"},
        "destination": {"name": "local", "namespace": "default"},
    }
    if automated is not None:
        spec["syncPolicy"] = {"automated": automated}
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": spec,
    }
    return model.parse_text(yaml.safe_dump(doc), f"{name}.yaml")[0]


def kube_app(
    url: str,
    server: str,
    app: str,
    path: str,
    sync_policy: dict[str, Any] | None = None,
    **spec: Any,
) -> list[model.Resource]:
    """A Cluster ``k`` of the Kubernetes API at ``server`` and an Application ``app`` of
    ``url``'s ``path`` at ``main`` onto it, namespace ``team``; ``sync_policy`` (default:
    ``CreateNamespace=true`` alone) and other ``spec`` fields as given."""
    docs = [
        {"apiVersion": "shipway.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "k"},
         "spec": {"type": "kubernetes", "server": server}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": app},
         "spec": {"source": {"repoURL": url, "path": path, "targetRevision": "main"},
                  "destination": {"name": "k", "namespace": "team"},
                  "syncPolicy": sync_policy or {"syncOptions": ["CreateNamespace=true"]},
                  **spec}},
    ]  # fmt: skip
    return model.parse_text(yaml.safe_dump_all(docs), "k.yaml")
