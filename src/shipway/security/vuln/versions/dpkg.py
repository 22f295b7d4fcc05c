"""Debian version ordering, exactly as dpkg's ``verrevcmp`` (deb-version(7)).

Pure. ``[epoch:]upstream[-revision]``: epochs compare as integers; upstream
and revision compare by alternating non-digit and digit runs. In non-digit
runs letters sort before other characters and ``~`` before everything, even
the end of the string (so ``1.0~rc1 < 1.0``); digit runs compare as numbers.
A missing revision equals ``0``.
"""

from __future__ import annotations

from functools import total_ordering


class DpkgVersionError(ValueError):
    pass


def _order(c: str) -> int:
    if not c:
        return 0
    if c.isdigit():
        return 0
    if c.isascii() and c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i] if i < len(a) else "")
            bc = _order(b[j] if j < len(b) else "")
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def split(version: str) -> tuple[int, str, str]:
    """``(epoch, upstream, revision)``; DpkgVersionError for what dpkg refuses."""
    text = version.strip()
    epoch = 0
    if ":" in text:
        head, _, text = text.partition(":")
        if not head.isdigit():
            raise DpkgVersionError(f"epoch in version is not a number: {version!r}")
        epoch = int(head)
    upstream, dash, revision = text.rpartition("-")
    if not dash:
        upstream, revision = text, ""
    if not upstream:
        raise DpkgVersionError(f"version string is empty: {version!r}")
    if not upstream[0].isdigit():
        raise DpkgVersionError(f"version number does not start with digit: {version!r}")
    return epoch, upstream, revision


def compare(a: str, b: str) -> int:
    """<0, 0 or >0 as ``a`` sorts before, with or after ``b`` (dpkg --compare-versions)."""
    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return verrevcmp(ua, ub) or verrevcmp(ra, rb)


@total_ordering
class DpkgVersion:
    def __init__(self, text: str) -> None:
        split(text)
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DpkgVersion) and compare(self.text, other.text) == 0

    def __lt__(self, other: DpkgVersion) -> bool:
        return compare(self.text, other.text) < 0

    def __hash__(self) -> int:
        return hash(self.text)
