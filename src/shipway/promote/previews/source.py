"""What an ApplicationSet's ``pullRequest`` generator asks for, read as Argo CD documents it.

Pure: no I/O. ``sources(appset)`` finds each ``pullRequest`` generator (at the
top level of ``spec.generators``) with its provider (``github``: ``owner``,
``repo``; ``gitlab``: ``project``; ``gitea``: ``owner``, ``repo``; each with
``api``, ``tokenRef``, ``labels``, ``insecure``), ``filters`` (``branchMatch``,
``targetBranchMatch``: a filter passes when all its fields match, the
generator takes a pull request that any filter passes), ``requeueAfterSeconds``
(Argo CD's default: 30 minutes) and its own ``template``. ``params(pr)`` are
the generator's template parameters. Preview options are annotations on the
ApplicationSet: ``shipway.dev/preview-ttl`` and ``shipway.dev/preview-idle``
(``72h``, ``7d``: how long a preview may live, and stay without a push).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shipway.git.forge import PullRequest
from shipway.model.errors import InputError
from shipway.model.preview import Expiry, parse_duration
from shipway.templates.gotemplate import funcs_sprig  # loads funcs_sprig_more after it

PROVIDERS = ("github", "gitlab", "gitea")
DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
REQUEUE_DEFAULT = 1800
TTL_ANNOTATION = "shipway.dev/preview-ttl"
IDLE_ANNOTATION = "shipway.dev/preview-idle"


@dataclass(frozen=True)
class Filter:
    branch: re.Pattern[str] | None = None
    target_branch: re.Pattern[str] | None = None

    def passes(self, pr: PullRequest) -> bool:
        return (self.branch is None or bool(self.branch.search(pr.head))) and (
            self.target_branch is None or bool(self.target_branch.search(pr.base))
        )


@dataclass(frozen=True)
class Source:
    """One ``pullRequest`` generator."""

    index: int  # its position in spec.generators
    provider: str
    project: str  # owner/repo, or GitLab's project
    api: str
    token_ref: dict[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    insecure: bool = False
    filters: tuple[Filter, ...] = ()
    requeue_seconds: int = REQUEUE_DEFAULT
    template: dict[str, Any] | None = None

    def wants(self, pr: PullRequest) -> bool:
        """Whether the generator takes ``pr``: open, every label given, a filter passes."""
        if pr.state != "open" or not set(self.labels) <= set(pr.labels):
            return False
        return not self.filters or any(f.passes(pr) for f in self.filters)


def params(pr: PullRequest) -> dict[str, Any]:
    """The pull request generator's template parameters."""
    return {
        "number": str(pr.number),
        "title": pr.title,
        "author": pr.author,
        "labels": list(pr.labels),
        "branch": pr.head,
        "branch_slug": funcs_sprig.SPRIG["slugify"](pr.head, 50, False),
        "target_branch": pr.base,
        "target_branch_slug": funcs_sprig.SPRIG["slugify"](pr.base, 50, False),
        "head_sha": pr.head_sha,
        "head_short_sha": pr.head_sha[:8],
        "head_short_sha_7": pr.head_sha[:7],
    }


def _regex(value: Any, where: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise InputError(f"{where}: not a regular expression: {exc}", subject=where) from None


def _one(index: int, gen: dict[str, Any], subject: str) -> Source:
    where = f"{subject}: spec.generators[{index}].pullRequest"
    given = [p for p in PROVIDERS if p in gen]
    if len(given) != 1:
        raise InputError(f"{where}: give exactly one provider of {', '.join(PROVIDERS)}",
                         subject=subject)  # fmt: skip
    kind = given[0]
    spec = gen[kind] or {}
    if kind == "gitlab":
        project = str(spec.get("project") or "")
    else:
        project = f"{spec.get('owner') or ''}/{spec.get('repo') or ''}".strip("/")
    if (kind == "gitlab" and not project) or (kind != "gitlab" and "/" not in project):
        need = "project" if kind == "gitlab" else "owner and repo"
        raise InputError(f"{where}.{kind}: {need} required", subject=subject)
    api = str(spec.get("api") or DEFAULT_API.get(kind, ""))
    if not api:
        raise InputError(f"{where}.{kind}.api: required for gitea", subject=subject)
    filters = tuple(
        Filter(_regex(f.get("branchMatch"), f"{where}.filters[{i}].branchMatch"),
               _regex(f.get("targetBranchMatch"), f"{where}.filters[{i}].targetBranchMatch"))
        for i, f in enumerate(gen.get("filters") or [])
    )  # fmt: skip
    return Source(
        index=index,
        provider=kind,
        project=project,
        api=api.rstrip("/"),
        token_ref={k: str(v) for k, v in (spec.get("tokenRef") or {}).items()},
        labels=tuple(str(x) for x in spec.get("labels") or []),
        insecure=bool(spec.get("insecure")),
        filters=filters,
        requeue_seconds=int(gen.get("requeueAfterSeconds") or REQUEUE_DEFAULT),
        template=gen.get("template"),
    )


def sources(appset: dict[str, Any]) -> list[Source]:
    """The ``pullRequest`` generators of an ApplicationSet body."""
    meta = appset.get("metadata") or {}
    subject = f"ApplicationSet/{meta.get('name')}"
    gens = (appset.get("spec") or {}).get("generators") or []
    return [_one(i, g["pullRequest"] or {}, subject) for i, g in enumerate(gens)
            if isinstance(g, dict) and "pullRequest" in g]  # fmt: skip


def expiry(appset: dict[str, Any]) -> Expiry:
    ann = (appset.get("metadata") or {}).get("annotations") or {}
    subject = f"ApplicationSet/{(appset.get('metadata') or {}).get('name')}"
    out: dict[str, Any] = {}
    for key, attr in ((TTL_ANNOTATION, "ttl"), (IDLE_ANNOTATION, "idle")):
        if ann.get(key):
            try:
                out[attr] = parse_duration(str(ann[key]), key)
            except ValueError as exc:
                raise InputError(f"{subject}: {exc}", subject=subject) from None
    return Expiry(**out)
