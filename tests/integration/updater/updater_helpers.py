"""Helpers for the updater's integration tests: images pushed to the real registry, config repos."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(content: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def push_image(
    client: RegistryClient,
    repository: str,
    tag: str,
    *,
    created: str,
    revision: str | None = None,
) -> str:
    """Push a tiny one-layer image with a config ``created`` time and revision label."""
    layer = _layer(f"{repository}:{tag}:{created}".encode())
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    labels = {"org.opencontainers.image.revision": revision} if revision else {}
    config = json.dumps(
        {
            "created": created,
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    for blob in (layer, config):
        client.upload_blob(repository, _digest(blob), blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    return client.put_manifest(repository, tag, manifest, OCI_MANIFEST)


KUSTOMIZATION = """# dev overlay
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deploy.yaml
images:
  - name: hello   # the app
    newTag: "0.0.1"
"""
DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers:
        - name: hello
          image: hello
"""


def seed_config_repo(url: str, work: Path, files: dict[str, str] | None = None) -> Repo:
    """Clone the bare repo at ``url``, add the files, push ``main``; return the clone."""
    repo = Repo.init(work)
    repo.run("remote", "add", "origin", url)
    for rel, text in (files or {"overlays/dev/kustomization.yaml": KUSTOMIZATION,
                                "overlays/dev/deploy.yaml": DEPLOY}).items():  # fmt: skip
        f = work / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    repo.add_all()
    repo.commit("seed")
    repo.push("origin", "HEAD:refs/heads/main")
    return repo


def application(
    name: str, image: str, repo_url: str, *, alias: str = "app", extra: str = ""
) -> str:
    p = "argocd-image-updater.argoproj.io/"
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  annotations:
    {p}image-list: {alias}={image}
    {p}{alias}.update-strategy: newest-build
    {p}{alias}.kustomize.image-name: hello
    {p}write-back-method: git
    {p}write-back-target: kustomization
{extra}spec:
  source:
    repoURL: {repo_url}
    path: overlays/dev
    targetRevision: main
  destination: {{server: https://kubernetes.default.svc, namespace: default}}
"""
