"""Semantic versions and version ranges, as Flux and Argo CD Image Updater read them.

Both tools use the Masterminds constraint syntax, so this module does too:
``>=1.2 <2``, ``^1.2``, ``~1.2.3``, ``1.x``, ``1.2.*``, ``1.0 - 2.0``, ``,`` for
"and", ``||`` for "or". Versions are lenient the same way (``v1.2`` is
``1.2.0``). Prereleases only satisfy a range whose comparators carry a
prerelease themselves (``>=1.0.0-0``), as in Masterminds. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import total_ordering

from shipway.model.errors import InputError

_VERSION_RE = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed semantic version; ordering follows semver 2.0 precedence."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: str = ""
    original: str = ""

    def _key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        if self._key() != other._key():
            return self._key() < other._key()
        return _pre_lt(self.pre, other.pre)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key() and self.pre == other.pre

    def __hash__(self) -> int:
        return hash((self._key(), self.pre))

    def __str__(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        return s + ("-" + ".".join(self.pre) if self.pre else "")


def _pre_lt(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if not a or not b:
        return bool(a) and not b  # a release is greater than any prerelease
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        xd, yd = x.isdigit(), y.isdigit()
        if xd and yd:
            return int(x) < int(y)
        if xd != yd:
            return xd  # numeric identifiers sort before alphanumeric ones
        return x < y
    return len(a) < len(b)


def parse_version(text: str) -> Version | None:
    """Parse a tag as a version; None when it is not one."""
    m = _VERSION_RE.match(text.strip())
    if not m:
        return None
    return Version(
        major=int(m["major"]),
        minor=int(m["minor"] or 0),
        patch=int(m["patch"] or 0),
        pre=tuple(m["pre"].split(".")) if m["pre"] else (),
        build=m["build"] or "",
        original=text,
    )


Check = Callable[[Version], bool]

_PART_RE = re.compile(
    r"^v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?"
    r"(?:-(?P<pre>[0-9A-Za-z-.]+))?(?:\+[0-9A-Za-z-.]+)?$"
)
_OPS = ("!=", ">=", "<=", "=>", "=<", "==", ">", "<", "=", "~>", "~", "^")


@dataclass(frozen=True)
class _Partial:
    """A version in a constraint: missing or wildcard parts are None."""

    major: int | None
    minor: int | None
    patch: int | None
    pre: tuple[str, ...]

    def floor(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.pre)


def _partial(text: str, constraint: str) -> _Partial:
    m = _PART_RE.match(text)
    if not m:
        raise InputError(f"invalid version {text!r} in semver range {constraint!r}")

    def num(part: str | None) -> int | None:
        return None if part is None or part in "xX*" else int(part)

    major, minor, patch = num(m["major"]), num(m["minor"]), num(m["patch"])
    if major is None:
        minor = patch = None
    elif minor is None:
        patch = None
    pre = tuple(m["pre"].split(".")) if m["pre"] else ()
    return _Partial(major, minor, patch, pre)


def _upper(p: _Partial) -> Version:
    """The first version past a partial: 1 -> 2.0.0-0, 1.2 -> 1.3.0-0."""
    if p.major is None:
        return Version(1 << 62, 0, 0)
    if p.minor is None:
        return Version(p.major + 1, 0, 0, ("0",))
    if p.patch is None:
        return Version(p.major, p.minor + 1, 0, ("0",))
    return Version(p.major, p.minor, p.patch + 1, ("0",))


def _comparator(op: str, p: _Partial) -> Check:
    lo, hi = p.floor(), _upper(p)
    exact = p.patch is not None
    if op in ("", "=", "=="):
        return (lambda v: v == lo) if exact else (lambda v: lo <= v < hi)
    if op == "!=":
        return (lambda v: v != lo) if exact else (lambda v: not lo <= v < hi)
    if op == ">":
        return (lambda v: v > lo) if exact else (lambda v: v >= hi)
    if op in (">=", "=>"):
        return lambda v: v >= lo
    if op == "<":
        return lambda v: v < lo
    if op in ("<=", "=<"):
        return (lambda v: v <= lo) if exact else (lambda v: v < hi)
    if op in ("~", "~>"):
        top = _upper(_Partial(p.major, p.minor if p.minor is not None else None, None, ()))
        return lambda v: lo <= v < top
    # caret: the leftmost non-zero part may not change
    if p.major is None:
        return lambda v: True
    if p.major > 0 or p.minor is None:
        top = Version(p.major + 1, 0, 0, ("0",))
    elif p.minor > 0 or p.patch is None:
        top = Version(0, p.minor + 1, 0, ("0",))
    else:
        top = Version(0, 0, (p.patch or 0) + 1, ("0",))
    return lambda v: lo <= v < top


@dataclass(frozen=True)
class Range:
    """A parsed constraint: any of several all-of comparator groups."""

    text: str
    groups: tuple[tuple[tuple[Check, _Partial], ...], ...]

    def allows(self, v: Version) -> bool:
        for group in self.groups:
            if all(check(v) for check, _ in group) and self._pre_ok(v, group):
                return True
        return False

    @staticmethod
    def _pre_ok(v: Version, group: tuple[tuple[Check, _Partial], ...]) -> bool:
        """A prerelease passes only if a comparator names a prerelease of the same x.y.z."""
        if not v.pre:
            return True
        return any(p.pre for _, p in group)


def _split_ops(group: str, constraint: str) -> list[tuple[str, str]]:
    tokens = [t for t in re.split(r"[\s,]+", group.strip()) if t]
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        op = next((o for o in _OPS if tok.startswith(o)), "")
        rest = tok[len(op) :]
        if not rest:  # ">= 1.2" written with a space
            i += 1
            if i >= len(tokens):
                raise InputError(f"semver range {constraint!r}: {op!r} needs a version")
            rest = tokens[i]
        out.append((op, rest))
        i += 1
    return out


def parse_range(constraint: str) -> Range:
    """Parse a Masterminds-style constraint; ``InputError`` when it is not one."""
    text = constraint.strip()
    if not text:
        raise InputError("empty semver range")
    groups: list[tuple[tuple[Check, _Partial], ...]] = []
    for alt in text.split("||"):
        hyphen = re.fullmatch(r"\s*(\S+)\s+-\s+(\S+)\s*", alt)
        if hyphen:
            lo, hi = _partial(hyphen[1], text), _partial(hyphen[2], text)
            groups.append(((_comparator(">=", lo), lo), (_comparator("<=", hi), hi)))
            continue
        pairs = _split_ops(alt, text)
        if not pairs:
            raise InputError(f"semver range {text!r} has an empty alternative")
        group = []
        for op, ver in pairs:
            p = _partial(ver, text)
            group.append((_comparator(op, p), p))
        groups.append(tuple(group))
    return Range(text=text, groups=tuple(groups))
