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
decides it, a Helm chart's ``values.yaml`` and value files read from git (a
multi-source app's ``$<ref>/path`` from the source with that ``ref``), a
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


def _sources(app: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = app.get("spec") or {}
    return [dict(s) for s in ([spec["source"]] if spec.get("source") else
                              spec.get("sources") or []) if isinstance(s, Mapping)]  # fmt: skip


def _source(app: Mapping[str, Any]) -> dict[str, Any]:
    """The source the app renders from: its ``source``, or the first of its ``sources`` that
    is not only a ``ref`` lending value files."""
    found = _sources(app)
    return next((s for s in found if s.get("path") or s.get("chart") or not s.get("ref")),
                found[0] if found else {})  # fmt: skip


def _revision(app: Mapping[str, Any], source: Mapping[str, Any]) -> str:
    """The revision ``source`` is synced to (``status.sync.revision``, or its entry of a
    multi-source app's ``revisions``), else its ``targetRevision``."""
    sync = (app.get("status") or {}).get("sync") or {}
    found = _sources(app)
    if len(found) > 1 or not (app.get("spec") or {}).get("source"):
        revisions = sync.get("revisions") or []
        i = found.index(dict(source)) if dict(source) in found else -1
        if 0 <= i < len(revisions) and revisions[i]:
            return str(revisions[i])
    elif sync.get("revision"):
        return str(sync["revision"])
    return str(source.get("targetRevision") or "HEAD")


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
    revision = _revision(app, source)
    renderer = _renderer(settings)
    try:
        commit = _commit(renderer, url, revision)
        refs = [(str(s["ref"]), _commit(renderer, str(s["repoURL"]), _revision(app, s)))
                for s in _sources(app) if s.get("ref") and s.get("repoURL")]  # fmt: skip
        memo = (url, commit, json.dumps([source, refs], sort_keys=True, default=str), name)
        if memo in _DETAILS:
            return _DETAILS[memo]
        kind = renderer.kind(source, commit)
        if kind == appdetails.HELM:
            helm = _helm(renderer, source, commit, name, app)
            found = appdetails.app_detail(kind, helm_spec=helm)
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
    renderer: Renderer, source: dict[str, Any], commit: str, name: str, app: Mapping[str, Any]
) -> appdetails.HelmDetails:
    """The chart's ``values.yaml`` and value files, read from git at ``commit``; a value file
    ``$<ref>/<path>`` is read from the app's source with that ``ref`` (at its revision), as
    Argo CD reads multi-source value files."""
    opts = source.get("helm") or {}
    path = norm_path(str(source.get("path") or ""))
    local = None if source.get("chart") else _reader(renderer, str(source["repoURL"]), commit)
    own = local(posixpath.join(path, "values.yaml")) if local is not None else None
    values = [("values.yaml", own or "")]
    for f in opts.get("valueFiles") or []:
        file = str(f)
        if file.startswith("$"):
            text, where = _ref_file(renderer, app, file)
        elif local is None:  # a chart from a Helm repository: its files are not in git here
            continue
        else:
            text = local(posixpath.join(path, file.lstrip("/")))
            where = f"under {path or '.'} at {commit[:12]}"
        if text is None:
            if opts.get("ignoreMissingValueFiles"):
                continue
            raise ValueError(f"value file {file!r} not found {where}")
        values.append((file, text))
    return appdetails.helm(name, source, values)


def _reader(renderer: Renderer, url: str, commit: str) -> Callable[[str], str | None]:
    repo = renderer.repo(url)
    blobs = repo.listing(commit).blobs

    def read(rel: str) -> str | None:
        sha = blobs.get(norm_path(posixpath.normpath(rel)))
        return None if sha is None else repo.read(sha).decode(errors="replace")

    return read


def _ref_file(renderer: Renderer, app: Mapping[str, Any], file: str) -> tuple[str | None, str]:
    """``$values/envs/prod.yaml``: the file of the source with ``ref: values``."""
    ref, _, rel = file[1:].partition("/")
    source = next((s for s in _sources(app) if s.get("ref") == ref), None)
    if source is None or not source.get("repoURL"):
        raise ValueError(f"value file {file!r}: the application has no source with ref {ref!r}")
    url = str(source["repoURL"])
    commit = _commit(renderer, url, _revision(app, source))
    return _reader(renderer, url, commit)(rel.lstrip("/")), f"in {url} at {commit[:12]}"
