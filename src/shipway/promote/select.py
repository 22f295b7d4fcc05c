"""Which image tag and which git commit a Warehouse subscription selects. Pure: no I/O.

Image subscriptions map onto the updater's tag policies (``shipway.updater.policy``):
SemVer -> ``semver`` (``constraint``, else the older ``semverConstraint``),
NewestBuild -> ``newest-build``, Digest -> ``digest`` (follow the tag named by
the constraint), Lexical -> ``alphabetical``. ``allowTags`` is a regular
expression, ``ignoreTags`` exact tags. With ``strictSemvers`` (Kargo's
default) only full ``MAJOR.MINOR.PATCH`` versions count for SemVer.

``candidates`` orders the tags a policy would pick, best first, up to the
``discoveryLimit``; the first is the selection. Git path filters follow Kargo:
an entry of ``includePaths``/``excludePaths`` is a ``glob:`` pattern, a
``regex:`` (or ``regexp:``) expression, or else a path prefix; a commit
qualifies when one of the files it changes is included and not excluded.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from shipway.model.errors import InputError
from shipway.model.kargo import GitSubscription, ImageSubscription
from shipway.updater.policy import Policy, select

_STRATEGY = {"SemVer": "semver", "NewestBuild": "newest-build", "Digest": "digest",
             "Lexical": "alphabetical"}  # fmt: skip
_STRICT = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def image_policy(sub: ImageSubscription, subject: str = "") -> Policy:
    """The updater policy that selects what ``sub`` selects."""
    strategy = _STRATEGY[sub.image_selection_strategy]
    return Policy(
        strategy=strategy,  # type: ignore[arg-type]
        constraint=sub.effective_constraint,
        allow=f"regexp:{sub.allow_tags}" if sub.allow_tags else None,
        ignore=tuple(re.sub(r"([*?\[])", r"[\1]", t) for t in sub.ignore_tags),
        subject=subject or sub.repo_url,
    )


def usable_tags(tags: Sequence[str], strict: bool, semver: bool) -> list[str]:
    """The tags a SemVer selection may consider (all tags for other strategies)."""
    if semver and strict:
        return [t for t in tags if _STRICT.match(t)]
    return list(tags)


def candidates(
    policy: Policy,
    tags: Sequence[str],
    limit: int,
    created: Mapping[str, datetime] | None = None,
) -> list[str]:
    """Up to ``limit`` tags in the order the policy prefers them; ``InputError`` if none."""
    left = list(tags)
    out: list[str] = []
    while left and len(out) < limit:
        try:
            pick = select(policy, left, created)
        except InputError:
            if not out:
                raise
            break
        out.append(pick.tag)
        left.remove(pick.tag)
        if policy.strategy == "digest":
            break
    return out


def _matches(selector: str, path: str) -> bool:
    if selector.startswith("glob:"):
        return fnmatch.fnmatchcase(path, selector[len("glob:") :])
    for prefix in ("regex:", "regexp:"):
        if selector.startswith(prefix):
            return re.search(selector[len(prefix) :], path) is not None
    return path == selector or path.startswith(selector.rstrip("/") + "/")


def touches(sub: GitSubscription, files: Sequence[str]) -> bool:
    """Whether a commit changing ``files`` passes the subscription's path filters."""
    if not sub.include_paths and not sub.exclude_paths:
        return True
    for path in files:
        if sub.include_paths and not any(_matches(s, path) for s in sub.include_paths):
            continue
        if any(_matches(s, path) for s in sub.exclude_paths):
            continue
        return True
    return False


def tag_policy(sub: GitSubscription) -> Policy:
    """The policy that orders a git subscription's tags (SemVer, Lexical)."""
    strategy = "semver" if sub.commit_selection_strategy == "SemVer" else "alphabetical"
    return Policy(
        strategy=strategy,  # type: ignore[arg-type]
        constraint=sub.effective_constraint,
        allow=f"regexp:{sub.allow_tags}" if sub.allow_tags else None,
        ignore=tuple(re.sub(r"([*?\[])", r"[\1]", t) for t in sub.ignore_tags),
        subject=sub.repo_url,
    )


def filter_git_tags(sub: GitSubscription, tags: Sequence[str]) -> list[str]:
    """Tags passing ``allowTags``/``ignoreTags`` (and strict semver for SemVer)."""
    allow = re.compile(sub.allow_tags) if sub.allow_tags else None
    out = [t for t in tags if (allow is None or allow.search(t)) and t not in sub.ignore_tags]
    return usable_tags(out, sub.strict_semvers, sub.commit_selection_strategy == "SemVer")
