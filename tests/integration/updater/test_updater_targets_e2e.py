"""Flux setter markers, Helm values of a multi-source app and the .argocd-source file, for real."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from updater_helpers import application, push_image, seed_config_repo

from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import open_store
from shipway.updater import engine
from shipway.updater.webhooks import PushEvent

pytestmark = pytest.mark.integration
P = "argocd-image-updater.argoproj.io/"
TEMPLATE = "Update by {{ .AutomationObject }}: {{ range .Updated.Images }}{{ . }}{{ end }}"

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # keep me
spec:
  template:
    spec:
      containers:
        - name: web
          image: "{image}:0.1.0" # {{"$imagepolicy": "flux-system:web"}}
          env:
            - name: VERSION
              value: '0.1.0' # {{"$imagepolicy": "flux-system:web:tag"}}
"""


def _flux(image: str, repo: str, path: str) -> str:
    return f"""apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {{name: web, namespace: flux-system}}
spec: {{image: {image}, interval: 1m}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {{name: web, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: web}}
  policy: {{semver: {{range: ">=1.0.0 <2"}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: {{name: auto, namespace: flux-system}}
spec:
  interval: 5m
  sourceRef: {{kind: GitRepository, name: config, url: "{repo}"}}
  git:
    checkout: {{ref: {{branch: main}}}}
    commit:
      author: {{name: Flux Bot, email: flux@example.com}}
      messageTemplate: "{TEMPLATE}"
  update: {{path: ./{path}, strategy: Setters}}
"""


def test_flux_markers_and_policy_status(registry, git_server, tmp_path: Path, shipway_home: Path):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:6]
    url = git_server.bare(f"flux-{u}")
    image = f"{registry.host}/flux/web-{u}"
    seed_config_repo(
        url,
        tmp_path / "seed",
        {
            "clusters/dev/web.yaml": DEPLOY.format(image=image),
            "clusters/prod/web.yaml": DEPLOY.format(image=image),
        },
    )
    client = RegistryClient(registry.host)
    for tag in ("1.0.0", "1.2.0", "2.0.0", "1.3.0-rc.1"):
        push_image(client, f"flux/web-{u}", tag, created="2026-01-01T00:00:00Z")
    store = open_store(Settings())
    store_resources.apply(store, parse_text(_flux(image, url, "clusters/dev"), "flux.yaml"))
    [res] = engine.on_push(
        store, [PushEvent(f"flux/web-{u}", "2.0.0", None, registry.host)], workdir=tmp_path / "w"
    )
    assert (res.kind, res.app, res.tag, res.error) == ("ImagePolicy", "web", "1.2.0", None)
    assert res.files == ["clusters/dev/web.yaml"]
    clone = Repo.clone(url, tmp_path / "c")
    dev = (clone.path / "clusters/dev/web.yaml").read_text()
    assert dev == DEPLOY.format(image=image).replace("0.1.0", "1.2.0")
    assert (clone.path / "clusters/prod/web.yaml").read_text() == DEPLOY.format(image=image)
    log = clone.run("log", "-1", "--format=%an <%ae>|%s")
    assert log == f"Flux Bot <flux@example.com>|Update by flux-system/auto: {image}:1.2.0\n"
    status = store_resources.get(store, "ImagePolicy", "web").status
    assert status["latestRef"] == {"name": image, "tag": "1.2.0", "digest": res.image.split("@")[1]}
    assert status["conditions"][0]["status"] == "True"
    auto = store_resources.get(store, "ImageUpdateAutomation", "auto").status
    assert auto["lastPushCommit"] == res.config_commit and auto["lastAutomationRunTime"]


def test_broken_marker_is_reported_and_nothing_is_written(registry, git_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:6]
    url = git_server.bare(f"flux-bad-{u}")
    image = f"{registry.host}/flux/bad-{u}"
    bad = DEPLOY.format(image=image).replace('"flux-system:web:tag"', '"web"')
    seed = seed_config_repo(url, tmp_path / "seed", {"clusters/dev/web.yaml": bad})
    push_image(
        RegistryClient(registry.host), f"flux/bad-{u}", "1.0.0", created="2026-01-01T00:00:00Z"
    )
    [res] = engine.run_once(
        None,
        workdir=tmp_path / "w",
        resources=parse_text(_flux(image, url, "clusters/dev"), "f.yaml"),
    )
    assert res.error_subject == "clusters/dev/web.yaml:13" and "malformed" in (res.error or "")
    assert Repo.clone(url, tmp_path / "c").head() == seed.head()


def test_helm_values_of_a_multi_source_app(registry, git_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:6]
    url = git_server.bare(f"values-{u}")
    values = (
        "# dev values\nweb:\n  image:\n    repository: old/web   # set by the updater\n"
        "    tag: '0.1'\nreplicas: 1\n"
    )
    seed_config_repo(url, tmp_path / "seed", {"envs/dev/values.yaml": values})
    image = f"{registry.host}/helm/web-{u}"
    push_image(
        RegistryClient(registry.host), f"helm/web-{u}", "1.4.2", created="2026-01-01T00:00:00Z"
    )
    app = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  annotations:
    {P}image-list: web={image}:~1.4
    {P}web.helm.image-name: web.image.repository
    {P}web.helm.image-tag: web.image.tag
    {P}write-back-method: git
    {P}write-back-target: helmvalues:$values/envs/dev/values.yaml
spec:
  sources:
  - repoURL: https://charts.example
    chart: web
    helm: {{valueFiles: [$values/envs/dev/values.yaml]}}
  - repoURL: {url}
    targetRevision: main
    ref: values
  destination: {{server: https://kubernetes.default.svc}}
"""
    [res] = engine.run_once(None, workdir=tmp_path / "w", resources=parse_text(app, "a.yaml"))
    assert res.error is None and res.files == ["envs/dev/values.yaml"]
    got = (Repo.clone(url, tmp_path / "c").path / "envs/dev/values.yaml").read_text()
    assert got == values.replace("old/web", image).replace("'0.1'", "'1.4.2'")


def test_default_argocd_source_file(registry, git_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:6]
    url = git_server.bare(f"src-{u}")
    seed_config_repo(url, tmp_path / "seed", {"apps/web/deploy.yaml": "kind: List\n"})
    image = f"{registry.host}/src/web-{u}"
    digest = push_image(
        RegistryClient(registry.host), f"src/web-{u}", "stable", created="2026-01-01T00:00:00Z"
    )
    app = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  annotations:
    {P}image-list: web={image}:stable
    {P}web.update-strategy: digest
    {P}web.kustomize.image-name: web
    {P}write-back-method: git
spec:
  source: {{repoURL: "{url}", path: apps/web}}
  destination: {{server: https://kubernetes.default.svc}}
"""
    [res] = engine.run_once(None, workdir=tmp_path / "w", resources=parse_text(app, "a.yaml"))
    assert res.error is None and res.files == ["apps/web/.argocd-source-web.yaml"]
    got = (Repo.clone(url, tmp_path / "c").path / "apps/web/.argocd-source-web.yaml").read_text()
    assert got == f"kustomize:\n  images:\n  - web={image}@{digest}\n"


def test_digest_strategy_follows_a_moving_tag(registry, git_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:6]
    url = git_server.bare(f"dig-{u}")
    seed_config_repo(url, tmp_path / "seed")
    client = RegistryClient(registry.host)
    image = f"{registry.host}/dig/web-{u}"
    first = push_image(client, f"dig/web-{u}", "stable", created="2026-01-01T00:00:00Z")
    extra = f"    {P}app.update-strategy: digest\n"
    text = application("web", f"{image}:stable", url, extra=extra).replace(
        f"    {P}app.update-strategy: newest-build\n", ""
    )
    apps = parse_text(text, "a.yaml")
    work = tmp_path / "w"
    [one] = engine.run_once(None, workdir=work, resources=apps)
    assert one.image == f"{image}@{first}" and one.config_commit
    second = push_image(client, f"dig/web-{u}", "stable", created="2026-01-02T00:00:00Z")
    [two] = engine.on_push(
        None,
        [PushEvent(f"dig/web-{u}", "stable", second, registry.host)],
        workdir=work,
        resources=apps,
    )
    assert two.image == f"{image}@{second}" and two.config_commit
    assert [c["new"] for c in two.changes] == [second]
