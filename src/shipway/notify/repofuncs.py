"""``repo.GetCommitMetadata`` and ``repo.GetAppDetails`` for Argo CD notification templates.

Argo CD's ``repo.GetCommitMetadata(sha)`` returns the commit's ``Message``,
``Author``, ``Date`` and ``Tags``, read from the Application's source
repository. shipway reads it from the config mirror the renderer keeps
(``shipway.deploy.gitsource``; cloned on first use, fetched once when the
commit is not there yet). ``commit_funcs(app)`` gives the function
for one Application (memoised per repository and commit); an unknown commit
or an unreachable repository raises ``ValueError`` naming them, which the
template or trigger reports as its error.

``repo.GetAppDetails()`` describes the Application's source at the revision it
is synced to (``status.sync.revision``, else its ``targetRevision``), through
the renderer's mirror (``shipway.deploy.sources``): its type as the renderer
decides it, a Helm chart's ``values.yaml`` and value files read from git, a
kustomization rendered for its images (``shipway.notify.appdetails`` builds the
answer). Memoised per repository, commit and source. Touches git (and the
render cache) only.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipway.deploy.gitsource import ConfigRepo, norm_path
from shipway.deploy.sources import Renderer
from shipway.model.errors import GitError, InputError
from shipway.notify import appdetails
from shipway.settings import Settings
from shipway.templates.gotime import RFC3339, parse_time

_SEP = "\x1f"
_CACHE: dict[tuple[str, str], dict[str, Any]] = {}
_DETAILS: dict[tuple[str, str, str, str], dict[str, Any]] = {}
_RENDERERS: dict[Path, Renderer] = {}


def _source(app: Mapping[str, Any]) -> dict[str, Any]:
    spec = app.get("spec") or {}
    return dict(spec.get("source") or next(iter(spec.get("sources") or []), None) or {})


def _source_url(app: Mapping[str, Any]) -> str:
    return str(_source(app).get("repoURL") or "")


def commit_metadata(settings: Settings, url: str, sha: str) -> dict[str, Any]:
    """``{Message, Author, Date, Tags}`` of commit ``sha`` in repository ``url``."""
    if not url:
        raise ValueError("the application has no source repoURL")
    if (url, sha) in _CACHE:
        return _CACHE[(url, sha)]
    repo = ConfigRepo(settings, url)
    fmt = _SEP.join(("%an <%ae>", "%cI", "%B"))
    try:
        repo.ensure()
        try:
            out = repo.repo.run("show", "-s", f"--format={fmt}", f"{sha}^{{commit}}", "--")
        except GitError:
            repo.fetch()
            out = repo.repo.run("show", "-s", f"--format={fmt}", f"{sha}^{{commit}}", "--")
        tags = repo.repo.run("tag", "--points-at", sha).split()
    except GitError as exc:
        raise ValueError(f"commit {sha!r} of {url}: {exc.message}") from None
    author, date, message = out.split(_SEP, 2)
    found = {"Message": message.strip(), "Author": author, "Tags": tags,
             "Date": parse_time(RFC3339, date.strip())}  # fmt: skip
    _CACHE[(url, sha)] = found
    return found


def commit_funcs(
    app: Mapping[str, Any], settings: Settings | None = None
) -> dict[str, Callable[..., Any]]:
    """The ``repo`` functions that read git, for one Application (the settings, for the
    mirrors' place, loaded when first called)."""
    url = _source_url(app)

    def get_commit_metadata(sha: object) -> dict[str, Any]:
        from shipway.settings import load

        return commit_metadata(settings or load(), url, str(sha))

    def get_app_details() -> dict[str, Any]:
        from shipway.settings import load

        return app_details(settings or load(), app)

    return {"GetCommitMetadata": get_commit_metadata, "GetAppDetails": get_app_details}


def _renderer(settings: Settings) -> Renderer:
    found = _RENDERERS.get(settings.home)
    if found is None:
        found = _RENDERERS[settings.home] = Renderer(settings)
    return found


def _commit(renderer: Renderer, url: str, revision: str) -> str:
    repo = renderer.repo(url)
    try:
        return repo.resolve(revision)
    except GitError:  # a commit newer than the mirror's last fetch: fetch once more
        repo.fetched = False
        return repo.resolve(revision)


def app_details(settings: Settings, app: Mapping[str, Any]) -> dict[str, Any]:
    """``repo.GetAppDetails()`` of ``app`` (``appdetails``); ``ValueError`` naming what could
    not be read."""
    source = _source(app)
    url = str(source.get("repoURL") or "")
    if not url:
        raise ValueError("the application has no source repoURL")
    name = str((app.get("metadata") or {}).get("name") or "")
    status = app.get("status") or {}
    revision = str((status.get("sync") or {}).get("revision") or "")
    revision = revision or str(source.get("targetRevision") or "HEAD")
    renderer = _renderer(settings)
    try:
        commit = _commit(renderer, url, revision)
        memo = (url, commit, json.dumps(source, sort_keys=True, default=str), name)
        if memo in _DETAILS:
            return _DETAILS[memo]
        kind = renderer.kind(source, commit)
        if kind == appdetails.HELM:
            found = appdetails.app_detail(kind, helm_spec=_helm(renderer, source, commit, name))
        elif kind == appdetails.KUSTOMIZE:
            rendered = renderer.render(source, name, commit)
            found = appdetails.app_detail(
                kind, kustomize_spec=appdetails.kustomize(m for _, m in rendered.manifests)
            )
        else:
            found = appdetails.app_detail(kind)
    except (GitError, InputError) as exc:
        raise ValueError(f"app details of {url} at {revision}: {exc.message}") from None
    _DETAILS[memo] = found
    return found


def _helm(
    renderer: Renderer, source: dict[str, Any], commit: str, name: str
) -> appdetails.HelmDetails:
    """The chart's ``values.yaml`` and value files, read from git at ``commit``."""
    if source.get("chart"):  # a chart from a Helm repository: no files here, the overrides
        return appdetails.helm(name, source, [])
    repo = renderer.repo(str(source["repoURL"]))
    blobs = repo.listing(commit).blobs
    path = norm_path(str(source.get("path") or ""))
    opts = source.get("helm") or {}

    def read(rel: str) -> str | None:
        where = norm_path(posixpath.normpath(posixpath.join(path, rel.lstrip("/"))))
        sha = blobs.get(where)
        return None if sha is None else repo.read(sha).decode(errors="replace")

    values = [("values.yaml", read("values.yaml") or "")]
    for f in opts.get("valueFiles") or []:
        text = read(str(f))
        if text is None:
            if opts.get("ignoreMissingValueFiles"):
                continue
            raise ValueError(f"value file {f!r} not found under {path or '.'} at {commit[:12]}")
        values.append((str(f), text))
    return appdetails.helm(name, source, values)
