"""The pull-request generator's parameters and filters, as Argo CD documents them. Pure.

Parameters: ``number``, ``title``, ``author``, ``branch``, ``branch_slug``,
``target_branch``, ``target_branch_slug``, ``head_sha``, ``head_short_sha``
(8 characters), ``head_short_sha_7``, and ``labels`` (a list; with
``goTemplate`` only, as Argo CD). A slug is the branch made a DNS label
(RFC 1123: lower case letters, digits and ``-``), cut to 50 characters to
leave room for a suffix. ``filters``: a pull request passes when any filter
matches (each filter: all its regular expressions, Go's ``regexp`` searched
anywhere in the name); provider ``labels``: it must carry all of them.
"""

from __future__ import annotations

import re
from typing import Any

from shipway.deploy.appset.inputs import PullInfo
from shipway.model.errors import InputError

SLUG_MAX = 50


def slug(branch: str) -> str:
    """``feature/Add_Login`` -> ``feature-add-login`` (at most 50 characters)."""
    text = re.sub(r"[^a-z0-9-]+", "-", branch.lower())
    text = re.sub(r"-+", "-", text).strip("-")
    return text[:SLUG_MAX].strip("-")


def params(pr: PullInfo, go_template: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": str(pr.number),
        "title": pr.title,
        "author": pr.author,
        "branch": pr.branch,
        "branch_slug": slug(pr.branch),
        "target_branch": pr.target_branch,
        "target_branch_slug": slug(pr.target_branch),
        "head_sha": pr.head_sha,
        "head_short_sha": pr.head_sha[:8],
        "head_short_sha_7": pr.head_sha[:7],
    }
    if go_template:
        out["labels"] = list(pr.labels)
    return out


def _search(pattern: str, text: str, where: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error as exc:
        raise InputError(f"{where}: {pattern!r} is not a regular expression: {exc}") from None


def selected(pulls: list[PullInfo], generator: dict[str, Any], where: str) -> list[PullInfo]:
    """The pull requests ``filters`` and the provider's ``labels`` let through."""
    provider: dict[str, Any] = next(
        (generator[k] for k in ("github", "gitlab", "gitea") if generator.get(k)), {}
    )
    wanted = set(provider.get("labels") or [])
    filters = list(generator.get("filters") or [])
    out = []
    for pr in pulls:
        if not wanted <= set(pr.labels):
            continue
        if filters and not any(
            _passes(pr, f, f"{where}.filters[{i}]") for i, f in enumerate(filters)
        ):
            continue
        out.append(pr)
    return sorted(out, key=lambda p: p.number)


def _passes(pr: PullInfo, flt: dict[str, Any], where: str) -> bool:
    branch = flt.get("branchMatch")
    target = flt.get("targetBranchMatch")
    if branch is not None and not _search(str(branch), pr.branch, f"{where}.branchMatch"):
        return False
    return target is None or _search(str(target), pr.target_branch, f"{where}.targetBranchMatch")
