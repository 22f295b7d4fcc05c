"""What to watch and where to write, read from resources as their tools define them.

- Argo CD Image Updater annotations on ``Application`` resources
  (``argocd-image-updater.argoproj.io/…``): ``image-list`` with aliases and
  constraints, per-alias ``update-strategy``, ``allow-tags``, ``ignore-tags``,
  ``kustomize.image-name``, ``helm.image-name`` / ``image-tag`` / ``image-spec``,
  ``force-update``; ``write-back-method``, ``git-branch``, ``git-repository``,
  ``write-back-target``.
- Flux ``ImageRepository`` + ``ImagePolicy`` + ``ImageUpdateAutomation``:
  setter markers under the automation's ``update.path``.

Pure: resources in, ``Watch`` records out; errors name the resource.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shipway.model import namespaces
from shipway.model.errors import InputError
from shipway.model.resources import Resource
from shipway.updater.policy import Policy, strategy_name

PREFIX = "argocd-image-updater.argoproj.io/"
TargetKind = Literal["kustomization", "argocd-source", "helmvalues", "markers"]


@dataclass(frozen=True)
class GitTarget:
    """Where an update is written: one config repository branch, one file or tree."""

    repo_url: str
    branch: str  # checked out and, unless push_branch says otherwise, pushed to
    push_branch: str
    path: str  # directory inside the repository ("" for the root)
    kind: TargetKind
    file: str = ""  # a file relative to the repository root (not for markers)
    app: str = ""  # the Application name, for the .argocd-source-<app>.yaml file
    author: str = ""  # "Name <email>"
    message_template: str = ""
    signoff: bool = False
    secret: str = ""
    pr: PullRequestConfig | None = None  # set: write to a branch and open a pull request
    credentials_env: str = ""  # PREFIX: credentials in $PREFIX_USERNAME / $PREFIX_PASSWORD


@dataclass(frozen=True)
class PullRequestConfig:
    """``shipway.dev/pull-request*`` settings: which forge, where, and how to group."""

    forge: str  # github, gitlab or gitea
    api_url: str = ""  # empty: derived from the repository URL
    project: str = ""  # empty: derived from the repository URL
    token_env: str = "SHIPWAY_FORGE_TOKEN"
    grouping: Literal["application", "update"] = "application"


@dataclass(frozen=True)
class Watch:
    """One image watched on behalf of one resource, and where its pick is written."""

    owner_kind: str
    owner_name: str
    alias: str
    image: str  # registry/repository, no tag
    policy: Policy
    target: GitTarget
    kustomize_name: str = ""
    helm_keys: tuple[tuple[str, str], ...] = ()  # ("name"|"tag"|"spec", dotted key)
    policy_ref: str = ""  # "namespace:name" for setter markers
    pin_digest: bool = True
    force: bool = False
    insecure: bool = False
    exclude: tuple[str, ...] = field(default_factory=tuple)
    owner_namespace: str = ""

    @property
    def owner(self) -> str:
        return f"{self.owner_kind}/{self.owner_name}"


def _subject(res: Resource) -> str:
    """``Kind/name``, or ``Kind/namespace/name`` outside the kind's default namespace."""
    if res.namespace in ("", namespaces.default_namespace(res.kind, res.name)):
        return f"{res.kind}/{res.name}"
    return f"{res.kind}/{res.namespace}/{res.name}"


def split_image(entry: str) -> tuple[str, str | None]:
    """``repo[:constraint]`` -> (repo, constraint): a colon after the last slash."""
    slash = entry.rfind("/")
    colon = entry.rfind(":")
    if colon > slash:
        return entry[:colon], entry[colon + 1 :] or None
    return entry, None


_ALIAS = re.compile(r"^[A-Za-z0-9_.-]+$")


def _image_list(text: str, subject: str) -> list[tuple[str, str, str | None]]:
    out = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        alias, eq, image = item.partition("=")
        if not eq or not _ALIAS.match(alias.strip()):  # "repo:>=1.0" has no alias
            alias, image = "", item
        image, constraint = split_image(image.strip())
        if not image:
            raise InputError(f"empty image in image-list entry {item!r}", subject=subject)
        out.append((alias.strip() or image.rsplit("/", 1)[-1], image, constraint))
    if not out:
        raise InputError("image-list annotation names no image", subject=subject)
    return out


def _source(app: Resource) -> dict[str, Any]:
    spec = app.spec
    if spec.get("source"):
        src = spec["source"]
    else:
        srcs = [s for s in spec.get("sources") or [] if isinstance(s, dict)]
        src = next((s for s in srcs if s.get("path")), srcs[0] if srcs else {})
    assert isinstance(src, dict)
    return src


SHIPWAY = "shipway.dev/"


def _shipway_options(ann: Mapping[str, str], subject: str) -> dict[str, Any]:
    """Commit and pull request options from ``shipway.dev/…`` annotations."""
    opts: dict[str, Any] = {
        "author": ann.get(SHIPWAY + "commit-author", ""),
        "message_template": ann.get(SHIPWAY + "commit-message", ""),
        "signoff": ann.get(SHIPWAY + "commit-signoff", "").lower() == "true",
        "credentials_env": ann.get(SHIPWAY + "git-credentials-env", ""),
    }
    kind = ann.get(SHIPWAY + "pull-request", "").strip().lower()
    if kind:
        if kind not in ("github", "gitlab", "gitea"):
            raise InputError(
                f"pull-request forge {kind!r}: use github, gitlab or gitea", subject=subject
            )
        grouping = ann.get(SHIPWAY + "pull-request-grouping", "application")
        if grouping not in ("application", "update"):
            raise InputError(
                f"pull-request-grouping {grouping!r}: use application or update", subject=subject
            )
        opts["pr"] = PullRequestConfig(
            forge=kind,
            api_url=ann.get(SHIPWAY + "pull-request-api", ""),
            project=ann.get(SHIPWAY + "pull-request-project", ""),
            token_env=ann.get(SHIPWAY + "pull-request-token-env", "SHIPWAY_FORGE_TOKEN"),
            grouping="update" if grouping == "update" else "application",
        )
    return opts


def _ref_source(app: Resource, target: str, subject: str) -> tuple[dict[str, Any], str]:
    """``helmvalues:$values/envs/dev.yaml``: the source with ``ref: values``, and the file."""
    ref, _, rel = target.partition(":")[2][1:].partition("/")
    for src in app.spec.get("sources") or []:
        if isinstance(src, dict) and src.get("ref") == ref:
            return src, rel
    raise InputError(f"write-back-target {target!r}: no source has ref {ref!r}", subject=subject)


def _target_file(app: Resource, target: str, path: str, subject: str) -> tuple[TargetKind, str]:
    def joined(f: str) -> str:
        return f"{path}/{f}" if path else f

    spec = target.partition(":")[2]
    if target.startswith("kustomization"):
        rel = spec.strip("/")
        base_dir = rel if spec.startswith("/") or not path else f"{path}/{rel}".strip("/")
        return (
            "kustomization",
            f"{base_dir}/kustomization.yaml" if base_dir else "kustomization.yaml",
        )
    if target.startswith("helmvalues"):
        if spec.startswith("$"):
            return "helmvalues", spec[1:].partition("/")[2]
        rel = spec or "values.yaml"
        return "helmvalues", rel.lstrip("/") if rel.startswith("/") else joined(rel)
    if target:
        raise InputError(f"unknown write-back-target {target!r}", subject=subject)
    return "argocd-source", joined(f".argocd-source-{app.name}.yaml")


def _git_target(app: Resource, ann: Mapping[str, str]) -> GitTarget:
    subject = _subject(app)
    method = ann.get(PREFIX + "write-back-method", "argocd")
    kind, _, secret = method.partition(":")
    if kind != "git":
        raise InputError(
            f"write-back-method {method!r} is not supported: use 'git' (shipway writes to git)",
            subject=subject,
        )
    target = ann.get(PREFIX + "write-back-target", "")
    if target.startswith("helmvalues:$"):  # multi-source: values from a ``ref`` source
        src, _ = _ref_source(app, target, subject)
    else:
        src = _source(app)
    repo_url = ann.get(PREFIX + "git-repository") or str(src.get("repoURL") or "")
    revision = str(src.get("targetRevision") or "")
    if revision in ("", "HEAD"):
        revision = "main"
    base, _, push = ann.get(PREFIX + "git-branch", "").partition(":")
    branch = base or revision
    path = str(src.get("path") or "").strip("/")
    path = "" if path == "." else path
    tkind, file = _target_file(app, target, path, subject)
    file = posixpath.normpath(file)
    if file.startswith("../"):
        raise InputError(f"write-back-target {target!r} leaves the repository", subject=subject)
    return GitTarget(
        repo_url=repo_url,
        branch=branch,
        push_branch=push or branch,
        path=path,
        kind=tkind,
        file=file,
        app=app.name,
        secret=secret,
        **_shipway_options(ann, subject),
    )


def from_application(app: Resource) -> list[Watch]:
    """The watches an Application's Image Updater annotations ask for (none when unannotated)."""
    ann = app.annotations
    listing = ann.get(PREFIX + "image-list")
    if not listing:
        return []
    subject = _subject(app)
    target = _git_target(app, ann)
    out = []
    for alias, image, constraint in _image_list(listing, subject):

        def opt(name: str, alias: str = alias) -> str:
            return ann.get(f"{PREFIX}{alias}.{name}", "")

        strategy = strategy_name(opt("update-strategy") or "semver", subject)
        ignore = tuple(g.strip() for g in opt("ignore-tags").split(",") if g.strip())
        policy = Policy(
            strategy=strategy,
            constraint=constraint,
            allow=opt("allow-tags") or None,
            ignore=ignore,
            subject=f"{subject} ({alias}: {image})",
        )
        helm = tuple(
            (k, v)
            for k, v in (
                ("name", opt("helm.image-name")),
                ("tag", opt("helm.image-tag")),
                ("spec", opt("helm.image-spec")),
            )
            if v
        )
        out.append(
            Watch(
                owner_kind="Application",
                owner_name=app.name,
                owner_namespace=app.namespace,
                alias=alias,
                image=image,
                policy=policy,
                target=target,
                kustomize_name=opt("kustomize.image-name") or image,
                helm_keys=helm,
                force=opt("force-update").lower() == "true",
            )
        )
    return out


def _flux_policy(pol: Resource) -> Policy:
    spec = pol.spec
    choice = spec.get("policy") or {}
    subject = _subject(pol)
    ft = spec.get("filterTags") or {}
    pattern, extract = ft.get("pattern"), ft.get("extract")
    if choice.get("semver") is not None:
        rng = (choice["semver"] or {}).get("range")
        if not rng:
            raise InputError("policy.semver.range is required", subject=subject)
        return Policy("semver", rng, pattern=pattern, extract=extract, subject=subject)
    for name in ("alphabetical", "numerical"):
        if choice.get(name) is not None:
            order = str((choice[name] or {}).get("order", "asc")).lower()
            if order not in ("asc", "desc"):
                raise InputError(f"policy.{name}.order must be asc or desc", subject=subject)
            return Policy(
                strategy_name(name),
                order="asc" if order == "asc" else "desc",
                pattern=pattern,
                extract=extract,
                subject=subject,
            )
    raise InputError("policy needs one of semver, alphabetical, numerical", subject=subject)


def _flux_target(iua: Resource, repos: Mapping[str, tuple[str, str]]) -> GitTarget:
    spec = iua.spec
    subject = f"ImageUpdateAutomation/{iua.name}"
    ref = spec.get("sourceRef") or {}
    name = str(ref.get("name") or "")
    url, default_branch = repos.get(name, (str(ref.get("url") or ""), ""))
    if not url:
        raise InputError(
            f"sourceRef GitRepository {name!r} is unknown (give its YAML or sourceRef.url)",
            subject=subject,
        )
    git = spec.get("git") or {}
    checkout = ((git.get("checkout") or {}).get("ref") or {}).get("branch") or default_branch
    branch = checkout or "main"
    push = (git.get("push") or {}).get("branch") or branch
    commit = git.get("commit") or {}
    author = commit.get("author") or {}
    who = f"{author.get('name')} <{author.get('email')}>" if author.get("email") else ""
    path = str((spec.get("update") or {}).get("path") or "").strip("./") or ""
    opts = _shipway_options(iua.annotations, subject)
    opts["author"] = who or opts["author"]
    opts["message_template"] = str(commit.get("messageTemplate") or "") or opts["message_template"]
    ns = iua.namespace or "flux-system"
    return GitTarget(
        repo_url=url,
        branch=branch,
        push_branch=push,
        path=path,
        kind="markers",
        app=f"{ns}/{iua.name}",
        **opts,
    )


def from_flux(
    resources: Iterable[Resource],
    git_repos: Mapping[str, tuple[str, str]] | None = None,
    errors: list[InputError] | None = None,
) -> list[Watch]:
    """Watches for each ImagePolicy, written by each ImageUpdateAutomation in its namespace.

    With ``errors`` given, a broken policy is recorded there and the others still count.
    """
    items = list(resources)
    repos = {
        (r.namespace or "flux-system", r.name): r for r in items if r.kind == "ImageRepository"
    }
    autos = [r for r in items if r.kind == "ImageUpdateAutomation"]
    out: list[Watch] = []
    for pol in (r for r in items if r.kind == "ImagePolicy"):
        try:
            out += _policy_watches(pol, repos, autos, git_repos or {})
        except InputError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return out


def _policy_watches(
    pol: Resource,
    repos: Mapping[tuple[str, str], Resource],
    autos: list[Resource],
    git_repos: Mapping[str, tuple[str, str]],
) -> list[Watch]:
    ns = pol.namespace or "flux-system"
    ref = str((pol.spec.get("imageRepositoryRef") or {}).get("name") or "")
    repo = repos.get((ns, ref))
    if repo is None:
        raise InputError(f"ImageRepository {ref!r} not found", subject=_subject(pol))
    policy = _flux_policy(pol)
    reflect = str(pol.spec.get("digestReflectionPolicy") or "Never")
    return [
        Watch(
            owner_kind="ImagePolicy",
            owner_name=pol.name,
            owner_namespace=pol.namespace,
            alias=pol.name,
            image=str(repo.spec["image"]),
            policy=policy,
            target=_flux_target(iua, git_repos),
            policy_ref=f"{ns}:{pol.name}",
            pin_digest=reflect != "Never",
            insecure=bool(repo.spec.get("insecure")),
            exclude=tuple(repo.spec.get("exclusionList") or ["^.*\\.sig$"]),
        )
        for iua in autos
        if (iua.namespace or "flux-system") == ns
    ]


def watches(
    resources: Iterable[Resource], git_repos: Mapping[str, tuple[str, str]] | None = None
) -> tuple[list[Watch], list[InputError]]:
    """Every watch in ``resources``; a broken resource yields an error, not an exception."""
    items = list(resources)
    out: list[Watch] = []
    errors: list[InputError] = []
    for app in (r for r in items if r.kind == "Application"):
        try:
            out += from_application(app)
        except InputError as exc:
            exc.subject = exc.subject or f"Application/{app.name}"
            errors.append(exc)
    out += from_flux(items, git_repos, errors)
    return out, errors
