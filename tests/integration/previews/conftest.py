"""Fixtures for preview tests: the forge fake, a source repository behind it on the git
daemon, a config repository, busybox httpd images built per head commit (what the pull
request's CI would push), and a shipway home whose podman pods are removed afterwards."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from forge_server import TOKEN, ForgeServer
from shipway.deploy import engine as deploy_engine
from shipway.git.repo import Repo
from shipway.model.resources import Resource
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store, open_store

_CMD = "exec httpd -f -p 8080 -h /www"


def _buildah(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        ["buildah", *args], env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def forge() -> Iterator[ForgeServer]:
    srv = ForgeServer()
    yield srv
    srv.stop()


@dataclass
class World:
    settings: Settings
    store: Store
    forge: ForgeServer
    kind: str
    project: str
    source: Repo  # a clone of the source repository, to push branches from
    config_url: str
    registry: str
    podman: dict[str, str]
    root: Path
    built: dict[str, str] = field(default_factory=dict)

    def image(self, sha: str) -> str:
        """Build and push ``preview-web:<sha[:8]>`` serving ``index.html`` = the sha."""
        if sha in self.built:
            return self.built[sha]
        root = self.root / f"rootfs-{sha[:8]}"
        (root / "bin").mkdir(parents=True)
        (root / "www").mkdir()
        shutil.copy("/bin/busybox", root / "bin" / "busybox")
        (root / "www" / "index.html").write_text(sha + "\n")
        c = _buildah(self.podman, "from", "scratch")
        try:
            _buildah(self.podman, "copy", c, str(root), "/")
            _buildah(self.podman, "run", "--isolation", "chroot", c, "--",
                     "/bin/busybox", "--install", "-s", "/bin")  # fmt: skip
            _buildah(self.podman, "config", "--cmd", f"/bin/sh -c '{_CMD}'", c)
            ref = f"{self.registry}/preview-web:{sha[:8]}"
            _buildah(self.podman, "commit", "-q", c, ref)
            _buildah(self.podman, "push", "--tls-verify=false", ref, f"docker://{ref}")
        finally:
            _buildah(self.podman, "rm", c)
        self.built[sha] = ref
        return ref

    def push_branch(self, branch: str, text: str) -> str:
        known = self.source.run("branch", "--list", branch).strip()
        self.source.run("checkout", "-q", *([branch] if known else ["-b", branch, "main"]))
        (self.source.path / "README").write_text(text)
        self.source.add_all()
        sha = self.source.commit(text)
        self.source.push("origin", f"HEAD:refs/heads/{branch}")
        return sha

    def open_pull(self, branch: str, title: str = "Feature") -> int:
        from shipway.git import forge as forge_mod

        client = forge_mod.open_forge(self.kind, self.forge.api(self.kind), self.project, TOKEN)
        try:
            return client.create(branch, "main", title, "").number
        finally:
            client.close_client()

    def appset(self, name: str = "web-previews", **extra: Any) -> Resource:
        token_ref = {"secretName": "forge-token", "key": "token"}
        provider: dict[str, Any] = {"api": self.forge.api(self.kind), "tokenRef": token_ref}
        owner, repo = self.project.split("/")
        if self.kind == "gitlab":
            provider["project"] = self.project
        else:
            provider |= {"owner": owner, "repo": repo}
        body = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {
                "name": name,
                "namespace": "argocd",
                "annotations": {"shipway.dev/previews": "true", **extra.pop("annotations", {})},
            },
            "spec": {
                "generators": [
                    {
                        "pullRequest": {
                            self.kind: provider,
                            "requeueAfterSeconds": 30,
                            **extra.pop("generator", {}),
                        }
                    }
                ],
                "template": {
                    "metadata": {"name": "web-{{branch_slug}}-{{number}}"},
                    "spec": {
                        "project": "default",
                        "source": {
                            "repoURL": self.config_url,
                            "targetRevision": "main",
                            "path": "app",
                            "kustomize": {
                                "images": [
                                    f"web={self.registry}/preview-web:{{{{head_short_sha}}}}"
                                ]
                            },
                        },
                        "destination": {"name": "local", "namespace": "web-pr-{{number}}"},
                    },
                },
            },
        }
        body["spec"] |= extra
        res = Resource("argoproj.io/v1alpha1", "ApplicationSet", name, "argocd", body)
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "forge-token", "namespace": "argocd"},
                  "data": {"token": base64.b64encode(TOKEN.encode()).decode()}}  # fmt: skip
        path = self.settings.home / "secrets" / "argocd" / "forge-token.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(secret))
        store_resources.apply(self.store, [res])
        return store_resources.get(self.store, "ApplicationSet", name, "argocd")


def _config(work: Repo) -> None:
    app = work.path / "app"
    app.mkdir(parents=True, exist_ok=True)
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                                  {"name": "httpd", "image": "web",
                                   "ports": [{"containerPort": 8080}]}]}}},
    }  # fmt: skip
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "selector": {"app": "web"},
                 "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]},
    }  # fmt: skip
    (app / "deployment.yaml").write_text(yaml.safe_dump(deployment))
    (app / "service.yaml").write_text(yaml.safe_dump(service))
    (app / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": ["deployment.yaml", "service.yaml"]})
    )
    work.add_all()
    work.commit("config")
    work.push("origin", "HEAD:refs/heads/main")


def make_world(kind: str, forge: ForgeServer, git_server: Any, registry: Any,
               podman: dict[str, str], tmp_path: Path) -> World:  # fmt: skip
    project = f"org/web-{uuid.uuid4().hex[:6]}"
    url = git_server.bare(project)
    forge.add_repo(project, git_server.base / f"{project}.git")
    source = Repo.init(tmp_path / "source")
    source.run("remote", "add", "origin", url)
    source.run("commit", "-q", "--allow-empty", "-m", "base")
    source.run("branch", "-M", "main")
    source.push("origin", "HEAD:refs/heads/main")
    config_url = git_server.bare(f"config-{project.split('/')[1]}")
    config = Repo.init(tmp_path / "config")
    config.run("remote", "add", "origin", config_url)
    _config(config)
    settings = Settings()
    return World(settings, open_store(settings), forge, kind, project, source, config_url,
                 registry.host, podman, tmp_path)  # fmt: skip


@pytest.fixture
def world_factory(
    shipway_home: Path, forge: ForgeServer, git_server: Any, registry: Any,
    podman: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:  # fmt: skip
    monkeypatch.setenv("SHIPWAY_INSECURE_REGISTRIES", registry.host)
    made: list[World] = []

    def make(kind: str = "github") -> World:
        w = make_world(kind, forge, git_server, registry, podman, tmp_path / kind)
        made.append(w)
        return w

    yield make
    for w in made:
        deploy_engine.local_target(w.settings).clean()
        w.store.close()
