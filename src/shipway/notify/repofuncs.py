"""``repo.GetCommitMetadata`` for Argo CD notification templates and triggers.

Argo CD's ``repo.GetCommitMetadata(sha)`` returns the commit's ``Message``,
``Author``, ``Date`` and ``Tags``, read from the Application's source
repository. shipway reads it from the config mirror the renderer keeps
(``shipway.deploy.gitsource``; cloned on first use, fetched once when the
commit is not there yet). ``commit_funcs(app)`` gives the function
for one Application (memoised per repository and commit); an unknown commit
or an unreachable repository raises ``ValueError`` naming them, which the
template or trigger reports as its error. Touches git only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shipway.deploy.gitsource import ConfigRepo
from shipway.model.errors import GitError
from shipway.settings import Settings
from shipway.templates.gotime import RFC3339, parse_time

_SEP = "\x1f"
_CACHE: dict[tuple[str, str], dict[str, Any]] = {}


def _source_url(app: Mapping[str, Any]) -> str:
    spec = app.get("spec") or {}
    src = spec.get("source") or next(iter(spec.get("sources") or []), None) or {}
    return str(src.get("repoURL") or "")


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

    return {"GetCommitMetadata": get_commit_metadata}
