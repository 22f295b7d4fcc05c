"""Pick one tag from a repository's tags according to a policy.

Strategies: ``semver`` (a range), ``newest-build`` (by the image config's
created time, supplied by the caller), ``digest`` (follow a mutable tag; the
caller compares digests), ``alphabetical`` and ``numerical`` (with an order).
Filters run first: Flux ``filterTags`` (``pattern`` with ``extract``), Argo CD
Image Updater ``allow-tags`` (``regexp:…`` or ``any``) and ``ignore-tags``
(globs). A policy that leaves no tag is an ``InputError`` naming the policy.
Pure: no I/O.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from shipway.model.errors import InputError
from shipway.updater.policy import semver

Strategy = Literal["semver", "newest-build", "digest", "alphabetical", "numerical"]
STRATEGIES: tuple[str, ...] = ("semver", "newest-build", "digest", "alphabetical", "numerical")
# Older Argo CD Image Updater names.
ALIASES = {"latest": "newest-build", "name": "alphabetical", "lexical": "alphabetical"}


@dataclass(frozen=True)
class Policy:
    """How to choose a tag. ``constraint``: a semver range, or the tag a digest policy follows."""

    strategy: Strategy = "semver"
    constraint: str | None = None
    order: Literal["asc", "desc"] = "asc"
    pattern: str | None = None
    extract: str | None = None
    allow: str | None = None
    ignore: tuple[str, ...] = field(default_factory=tuple)
    subject: str = ""


@dataclass(frozen=True)
class Choice:
    """The picked tag and the value it was ranked by (the extracted text for Flux filters)."""

    tag: str
    key: str


def strategy_name(word: str, subject: str = "") -> Strategy:
    """Normalise a strategy name, accepting the older Argo CD Image Updater aliases."""
    name = ALIASES.get(word.strip().lower(), word.strip().lower())
    if name not in STRATEGIES:
        raise InputError(
            f"unknown update strategy {word!r} (use {', '.join(STRATEGIES)})", subject=subject
        )
    return name  # type: ignore[return-value]


def _compile(pattern: str, what: str, subject: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InputError(
            f"invalid {what} regular expression {pattern!r}: {exc}", subject=subject
        ) from None


_GO_EXPAND = re.compile(r"\$(\$|\{(\w+)\}|(\w+))")


def expand(template: str, m: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``$name``, ``${name}``, ``$$``; unknown groups are empty."""

    def one(g: re.Match[str]) -> str:
        if g[1] == "$":
            return "$"
        name = g[2] or g[3]
        try:
            value = m.group(int(name)) if name.isdigit() else m.group(name)
        except IndexError:
            return ""
        return value or ""

    return _GO_EXPAND.sub(one, template)


def filter_tags(policy: Policy, tags: Sequence[str]) -> list[Choice]:
    """Apply allow, ignore and pattern/extract; keep the input order."""
    allow = None
    if policy.allow and policy.allow.strip() not in ("", "any"):
        text = policy.allow.strip()
        if not text.startswith("regexp:"):
            raise InputError(
                f"allow-tags {text!r} must be 'any' or 'regexp:<expression>'",
                subject=policy.subject,
            )
        allow = _compile(text[len("regexp:") :], "allow-tags", policy.subject)
    pattern = (
        _compile(policy.pattern, "filterTags.pattern", policy.subject) if policy.pattern else None
    )
    out: list[Choice] = []
    for tag in tags:
        if allow and not allow.search(tag):
            continue
        if any(fnmatch.fnmatchcase(tag, g) for g in policy.ignore):
            continue
        key = tag
        if pattern:
            m = pattern.search(tag)
            if not m:
                continue
            if policy.extract:
                key = expand(policy.extract, m)
        out.append(Choice(tag, key))
    return out


def _no_match(policy: Policy, total: int, why: str = "") -> InputError:
    desc = policy.strategy + (f" {policy.constraint!r}" if policy.constraint else "")
    extra = f"; {why}" if why else ""
    return InputError(
        f"no tag matches policy {desc} ({total} tags in the repository{extra})",
        subject=policy.subject,
    )


def _pick_semver(policy: Policy, found: list[Choice], total: int) -> Choice:
    rng = semver.parse_range(policy.constraint or "*") if policy.constraint else None
    best: tuple[semver.Version, Choice] | None = None
    skipped: list[str] = []
    for c in found:
        v = semver.parse_version(c.key)
        if v is None:
            skipped.append(c.tag)
            continue
        if rng is None:
            if v.pre:
                continue
        elif not rng.allows(v):
            continue
        if best is None or v > best[0] or (v == best[0] and c.tag > best[1].tag):
            best = (v, c)
    if best is None:
        why = f"not semver: {', '.join(skipped[:3])}" if skipped else ""
        raise _no_match(policy, total, why)
    return best[1]


def _pick_numerical(policy: Policy, found: list[Choice], total: int) -> Choice:
    ranked: list[tuple[Decimal, Choice]] = []
    for c in found:
        try:
            ranked.append((Decimal(c.key), c))
        except InvalidOperation:
            continue
    if not ranked:
        raise _no_match(policy, total, "no tag is a number")
    pick = max if policy.order == "asc" else min
    return pick(ranked, key=lambda r: r[0])[1]


def _pick_newest(
    policy: Policy, found: list[Choice], total: int, created: Mapping[str, datetime]
) -> Choice:
    dated = [(created[c.tag], c.tag, c) for c in found if c.tag in created]
    if not dated:
        raise _no_match(policy, total, "no created time for any matching tag")
    # a tie (one build under several tags) prefers a specific tag over "latest"
    return max(dated, key=lambda d: (d[0], d[1] != "latest", d[1]))[2]


def select(
    policy: Policy,
    tags: Sequence[str],
    created: Mapping[str, datetime] | None = None,
) -> Choice:
    """Return the tag the policy picks; ``InputError`` when none qualifies.

    ``created`` maps tags to their image config's created time (``newest-build``).
    For ``digest`` the answer is the followed tag itself; the caller resolves its digest.
    """
    found = filter_tags(policy, tags)
    total = len(tags)
    if policy.strategy == "digest":
        want = policy.constraint or "latest"
        match = next((c for c in found if c.tag == want), None)
        if match is None:
            raise _no_match(policy, total, f"tag {want!r} not found")
        return match
    if not found:
        raise _no_match(policy, total)
    if policy.strategy == "semver":
        return _pick_semver(policy, found, total)
    if policy.strategy == "numerical":
        return _pick_numerical(policy, found, total)
    if policy.strategy == "newest-build":
        return _pick_newest(policy, found, total, created or {})
    ordered = sorted(found, key=lambda c: c.key)
    return ordered[-1] if policy.order == "asc" else ordered[0]


def needs_created(policy: Policy) -> bool:
    return policy.strategy == "newest-build"
