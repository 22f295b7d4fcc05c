"""Reading Argo CD Image Updater annotations and Flux image automation resources."""

from __future__ import annotations

import pytest

from shipway.model.errors import InputError
from shipway.model.resources import Resource, parse_text
from shipway.updater import targets

P = "argocd-image-updater.argoproj.io/"


def app(annotations: dict[str, str], source: str = "source") -> Resource:
    ann = "\n".join(f"    {k}: {v!r}" for k, v in annotations.items())
    src = (
        "  source:\n    repoURL: git://127.0.0.1:9418/config.git\n    path: overlays/dev\n"
        "    targetRevision: main\n"
        if source == "source"
        else "  sources:\n  - repoURL: https://charts.example\n    chart: x\n"
        "  - repoURL: git://h/config.git\n    path: apps/x\n"
    )
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: hello-dev\n"
        f"  annotations:\n{ann}\nspec:\n{src}  destination: {{server: local}}\n"
    )
    return parse_text(text, "app.yaml")[0]


def test_demo_application() -> None:
    res = app(
        {
            P + "image-list": "app=127.0.0.1:5000/demo/hello",
            P + "app.update-strategy": "newest-build",
            P + "app.kustomize.image-name": "hello",
            P + "write-back-method": "git",
            P + "write-back-target": "kustomization",
        }
    )
    [w] = targets.from_application(res)
    assert (w.alias, w.image, w.kustomize_name, w.policy.strategy) == (
        "app", "127.0.0.1:5000/demo/hello", "hello", "newest-build"
    )  # fmt: skip
    t = w.target
    assert (t.repo_url, t.branch, t.push_branch, t.kind, t.file) == (
        "git://127.0.0.1:9418/config.git", "main", "main", "kustomization",
        "overlays/dev/kustomization.yaml",
    )  # fmt: skip


def test_aliases_constraints_and_defaults() -> None:
    res = app(
        {
            P + "image-list": "a=ghcr.io/o/a:~1.2, ghcr.io/o/b, c=r:5000/c:stable",
            P + "a.allow-tags": "regexp:^1",
            P + "a.ignore-tags": "1.2.9, *-rc*",
            P + "b.update-strategy": "latest",
            P + "c.update-strategy": "digest",
            P + "c.helm.image-name": "c.image.repository",
            P + "c.helm.image-tag": "c.image.tag",
            P + "write-back-method": "git:secret:argocd/creds",
            P + "git-branch": "main:image-updater",
        }
    )
    a, b, c = targets.from_application(res)
    assert (a.policy.constraint, a.policy.allow, a.policy.ignore) == (
        "~1.2",
        "regexp:^1",
        ("1.2.9", "*-rc*"),
    )
    assert (b.alias, b.image, b.policy.strategy) == ("b", "ghcr.io/o/b", "newest-build")
    assert (c.image, c.policy.constraint, c.helm_keys) == (
        "r:5000/c", "stable", (("name", "c.image.repository"), ("tag", "c.image.tag"))
    )  # fmt: skip
    assert a.target.kind == "argocd-source"
    assert a.target.file == "overlays/dev/.argocd-source-hello-dev.yaml"
    assert (a.target.push_branch, a.target.secret) == ("image-updater", "secret:argocd/creds")


def test_multi_source_uses_the_source_with_a_path() -> None:
    ann = {P + "image-list": "x=r/x", P + "write-back-method": "git"}
    ann[P + "write-back-target"] = "helmvalues:values-dev.yaml"
    res = app(ann, source="sources")
    [w] = targets.from_application(res)
    assert (w.target.repo_url, w.target.file, w.target.kind) == (
        "git://h/config.git", "apps/x/values-dev.yaml", "helmvalues"
    )  # fmt: skip


def test_bad_annotations() -> None:
    with pytest.raises(InputError, match="write-back-method"):
        targets.from_application(app({P + "image-list": "x=r/x"}))
    with pytest.raises(InputError, match="unknown update strategy"):
        targets.from_application(
            app(
                {
                    P + "image-list": "x=r/x",
                    P + "x.update-strategy": "best",
                    P + "write-back-method": "git",
                }
            )
        )
    found, errors = targets.watches([app({P + "image-list": "x=r/x"})])
    assert found == [] and "Application/hello-dev" in str(errors[0].subject)


FLUX = """
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: ghcr.io/org/app}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  filterTags: {pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)', extract: '$ts'}
  policy: {numerical: {order: asc}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: {name: auto, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: config}
  git:
    checkout: {ref: {branch: main}}
    push: {branch: auto}
    commit: {author: {name: bot, email: bot@x}, messageTemplate: 'bump {images}'}
  update: {path: ./clusters/dev, strategy: Setters}
"""


def test_flux_resources() -> None:
    res = parse_text(FLUX, "flux.yaml")
    [w] = targets.from_flux(res, {"config": ("git://h/config.git", "")})
    assert (w.owner, w.policy_ref, w.policy.strategy, w.policy.extract) == (
        "ImagePolicy/app", "flux-system:app", "numerical", "$ts"
    )  # fmt: skip
    t = w.target
    assert (t.repo_url, t.branch, t.push_branch, t.path, t.kind, t.author) == (
        "git://h/config.git", "main", "auto", "clusters/dev", "markers", "bot <bot@x>"
    )  # fmt: skip
    assert w.exclude == ("^.*\\.sig$",) and not w.pin_digest
    with pytest.raises(InputError, match="GitRepository 'config' is unknown"):
        targets.from_flux(res)


def test_multi_source_values_from_a_ref_source() -> None:
    text = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: chart-app
  annotations:
    {P}image-list: web=r.example/web
    {P}web.update-strategy: semver
    {P}web.helm.image-name: web.image.repository
    {P}web.helm.image-tag: web.image.tag
    {P}write-back-method: git
    {P}write-back-target: helmvalues:$values/envs/dev/values.yaml
spec:
  sources:
  - repoURL: https://charts.example
    chart: web
    helm: {{valueFiles: [$values/envs/dev/values.yaml]}}
  - repoURL: git://h/values.git
    targetRevision: release
    ref: values
  destination: {{server: local}}
"""
    [w] = targets.from_application(parse_text(text, "a.yaml")[0])
    t = w.target
    assert (t.repo_url, t.branch, t.kind, t.file) == (
        "git://h/values.git", "release", "helmvalues", "envs/dev/values.yaml"
    )  # fmt: skip
    broken = text.replace("ref: values", "ref: other")
    with pytest.raises(InputError, match="no source has ref 'values'"):
        targets.from_application(parse_text(broken, "a.yaml")[0])


@pytest.mark.parametrize(
    ("target", "file"),
    [
        ("kustomization", "overlays/dev/kustomization.yaml"),
        ("kustomization:../base", "overlays/base/kustomization.yaml"),
        ("kustomization:/clusters/x", "clusters/x/kustomization.yaml"),
        ("helmvalues", "overlays/dev/values.yaml"),
        ("helmvalues:/values-prod.yaml", "values-prod.yaml"),
    ],
)
def test_write_back_target_paths(target: str, file: str) -> None:
    res = app({P + "image-list": "x=r/x", P + "write-back-method": "git",
               P + "write-back-target": target})  # fmt: skip
    [w] = targets.from_application(res)
    assert w.target.file == file


def test_image_list_constraints_with_equals_signs() -> None:
    res = app(
        {
            P + "image-list": "a=r.example/a:>=1.2 <2, r.example/b:>=3",
            P + "write-back-method": "git",
        }
    )
    a, b = targets.from_application(res)
    assert (a.alias, a.image, a.policy.constraint) == ("a", "r.example/a", ">=1.2 <2")
    assert (b.alias, b.image, b.policy.constraint) == ("b", "r.example/b", ">=3")
