"""Which image tag and which git commit a Warehouse subscription selects. Pure: no I/O.

Image subscriptions map onto the updater's tag policies (``shipway.updater.policy``):
SemVer -> ``semver`` (``constraint``, else the older ``semverConstraint``),
NewestBuild -> ``newest-build``, Digest -> ``digest`` (follow the tag named by
the constraint), Lexical -> ``alphabetical``. ``allowTags`` is a regular
expression, ``ignoreTags`` exact tags; ``allowTagsRegexes`` and
``ignoreTagsRegexes`` (``regex_filter``) narrow the tags first. With ``strictSemvers`` (Kargo's
default) only full ``MAJOR.MINOR.PATCH`` versions count for SemVer.

``candidates`` orders the tags a policy would pick, best first, up to the
``discoveryLimit``; the first is the selection. Git path filters follow Kargo:
an entry of ``includePaths``/``excludePaths`` is a ``glob:`` pattern, a
``regex:`` (or ``regexp:``) expression, or else a path prefix; a commit
qualifies when one of the files it changes is included and not excluded.
``passes_filter`` applies a git subscription's ``expressionFilter`` (expr-lang
over ``id``, ``commitDate``/``creatorDate``, ``author``, ``committer``,
``subject``, ``tag``, ``tagger``, ``annotation``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from shipway.model.errors import InputError, ShipwayError
from shipway.model.kargo import GitSubscription, ImageSubscription
from shipway.templates.errors import ExprError
from shipway.templates.exprlang import evaluate
from shipway.templates.gotime import GoTime
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


def regex_filter(sub: ImageSubscription | GitSubscription, tags: Sequence[str]) -> list[str]:
    """Tags matching one of ``allowTagsRegexes`` (when any) and none of ``ignoreTagsRegexes``."""
    allow = [re.compile(p) for p in sub.allow_tags_regexes]
    ignore = [re.compile(p) for p in sub.ignore_tags_regexes]
    return [t for t in tags if (not allow or any(a.search(t) for a in allow))
            and not any(i.search(t) for i in ignore)]  # fmt: skip


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
    out = [
        t
        for t in regex_filter(sub, tags)
        if (allow is None or allow.search(t)) and t not in sub.ignore_tags
    ]
    return usable_tags(out, sub.strict_semvers, sub.commit_selection_strategy == "SemVer")


_FILTER_VARS = ("id", "author", "committer", "subject", "tag", "tagger", "annotation")


def _when(text: str) -> GoTime | str:
    try:
        return GoTime.from_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return text


def passes_filter(sub: GitSubscription, row: Mapping[str, str]) -> bool:
    """Whether a commit or tag (``row``: ``id``, ``author``, ``subject``, ``creatorDate``,
    ...) passes ``expressionFilter``; as Kargo, a non-bool result is read as truthy."""
    if not sub.expression_filter:
        return True
    env: dict[str, object] = {k: row.get(k, "") for k in _FILTER_VARS}
    when = _when(row.get("creatorDate", ""))
    env["commitDate"] = env["creatorDate"] = when
    try:
        out = evaluate(sub.expression_filter, env)
    except ExprError as exc:
        raise ShipwayError(f"expressionFilter of {sub.repo_url}: {exc}",
                           subject=sub.repo_url) from None  # fmt: skip
    return bool(out)
