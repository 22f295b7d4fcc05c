"""Semantic versions and Masterminds/semver v3 constraints (sprig's ``semverCompare``).

Pure. ``constraint_matches("^1.2.0", "1.4.1")``: ``||`` alternatives, ``,`` or
space conjunctions, operators ``= != > < >= <= ~ ~> ^``, wildcards ``x X *``,
hyphen ranges ``1.2 - 1.4.5``; a prerelease version only matches a
constraint that names a prerelease, as Masterminds does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(
    r"v?(?P<major>0|[1-9]\d*|[xX*])(?:\.(?P<minor>0|[1-9]\d*|[xX*]))?(?:\.(?P<patch>0|[1-9]\d*|[xX*]))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_WILD = ("x", "X", "*")


class SemverError(ValueError):
    """A version or constraint that does not parse; the message is Masterminds'."""


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""
    build: str = ""
    original: str = ""

    def key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)


def parse_version(text: str) -> Version:
    m = _VERSION.fullmatch(text.strip())
    if not m or any(m.group(g) in _WILD for g in ("major", "minor", "patch")):
        raise SemverError("Invalid Semantic Version")
    return Version(
        int(m.group("major")),
        int(m.group("minor") or 0),
        int(m.group("patch") or 0),
        m.group("pre") or "",
        m.group("build") or "",
        text,
    )


def _pre_cmp(a: str, b: str) -> int:
    if a == b:
        return 0
    if not a:
        return 1
    if not b:
        return -1
    pa, pb = a.split("."), b.split(".")
    for x, y in zip(pa, pb, strict=False):
        if x == y:
            continue
        if x.isascii() and x.isdigit() and y.isascii() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit():
            return -1
        if y.isdigit():
            return 1
        return -1 if x < y else 1
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


def compare(a: Version, b: Version) -> int:
    if a.key() != b.key():
        return -1 if a.key() < b.key() else 1
    return _pre_cmp(a.pre, b.pre)


_OP = re.compile(r"^\s*(=>|=<|>=|<=|!=|~>|[=<>~^])?\s*(.+?)\s*$")


def _parts(text: str) -> tuple[list[int | None], str]:
    m = _VERSION.fullmatch(text)
    if not m:
        raise SemverError(f"improper constraint: {text}")
    nums: list[int | None] = []
    for g in ("major", "minor", "patch"):
        v = m.group(g)
        nums.append(None if v is None or v in _WILD else int(v))
    return nums, m.group("pre") or ""


def _single(op: str, text: str, v: Version) -> bool:
    nums, pre = _parts(text)
    if v.pre and not pre:
        return False
    major, minor, patch = nums
    lo = Version(major or 0, minor or 0, patch or 0, pre)
    c = compare(v, lo)
    if op in ("", "="):
        if major is None:
            return True
        if minor is None:
            return v.major == major
        if patch is None:
            return (v.major, v.minor) == (major, minor)
        return c == 0
    if op == "!=":
        return not _single("=", text, v)
    if op == ">":
        if minor is None and major is not None:
            return v.major > major
        if patch is None and minor is not None:
            return (v.major, v.minor) > (major or 0, minor)
        return c > 0
    if op in (">=", "=>"):
        return c >= 0
    if op == "<":
        return c < 0
    if op in ("<=", "=<"):
        if minor is None and major is not None:
            return v.major <= major
        if patch is None and minor is not None:
            return (v.major, v.minor) <= (major or 0, minor)
        return c <= 0
    if op in ("~", "~>"):
        if c < 0:
            return False
        if major is None:
            return True
        if minor is None:
            return v.major == major
        return (v.major, v.minor) == (major, minor)
    if op == "^":
        if c < 0:
            return False
        if major is None:
            return True
        if major > 0 or minor is None:
            return v.major == major
        if minor > 0 or patch is None:
            return v.major == 0 and v.minor == minor
        return v.key() == (0, 0, patch)
    raise SemverError(f"improper constraint: {op}{text}")


def constraint_matches(constraint: str, version: str) -> bool:
    """Does ``version`` satisfy the Masterminds constraint string?"""
    v = parse_version(version)
    if not constraint.strip():
        raise SemverError("improper constraint: ")
    for alt in constraint.split("||"):
        alt = re.sub(r"\s+-\s+", " - ", alt.strip())
        terms: list[tuple[str, str]] = []
        hyph = re.fullmatch(r"(\S+) - (\S+)", alt)
        if hyph:
            terms = [(">=", hyph.group(1)), ("<=", hyph.group(2))]
        else:
            alt = re.sub(r"(=>|=<|>=|<=|!=|~>|[=<>~^])\s+", r"\1", alt)
            for tok in re.split(r"[\s,]+", alt):
                if not tok:
                    continue
                m = _OP.match(tok)
                if not m:
                    raise SemverError(f"improper constraint: {tok}")
                terms.append((m.group(1) or "", m.group(2)))
        if not terms:
            raise SemverError(f"improper constraint: {constraint}")
        if all(_single(op, t, v) for op, t in terms):
            return True
    return False
