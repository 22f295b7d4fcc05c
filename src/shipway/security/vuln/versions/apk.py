"""Alpine (apk) version ordering, after apk-tools' ``apk_version_compare``.

Pure. ``1.2.3[letter][_suffix[N]]...[-rN]``: dotted numbers (the first as an
integer, later ones as a fraction when either has a leading zero, as apk
does), an optional letter, suffixes ordered ``_alpha < _beta < _pre < _rc <
(none) < _cvs < _svn < _git < _hg < _p``, then the ``-rN`` revision. More
numeric components sort after fewer (``1.2 < 1.2.1``).
"""

from __future__ import annotations

import re

SUFFIXES = {
    "alpha": -4,
    "beta": -3,
    "pre": -2,
    "rc": -1,
    "cvs": 1,
    "svn": 2,
    "git": 3,
    "hg": 4,
    "p": 5,
}
_VERSION = re.compile(
    r"^(?P<nums>\d+(?:\.\d+)*)(?P<letter>[a-z]?)(?P<suffixes>(?:_[a-z]+\d*)*)"
    r"(?:~(?P<hash>[0-9a-f]+))?(?:-r(?P<rev>\d+))?$"
)
_SUFFIX = re.compile(r"_([a-z]+)(\d*)")


class ApkVersionError(ValueError):
    pass


def _parse(text: str) -> tuple[list[str], str, list[tuple[int, int]], int]:
    m = _VERSION.match(text.strip())
    if not m:
        raise ApkVersionError(f"not an apk version: {text!r}")
    suffixes = []
    for name, num in _SUFFIX.findall(m.group("suffixes")):
        if name not in SUFFIXES:
            raise ApkVersionError(f"unknown suffix _{name} in {text!r}")
        suffixes.append((SUFFIXES[name], int(num or 0)))
    return m.group("nums").split("."), m.group("letter"), suffixes, int(m.group("rev") or 0)


def _num_cmp(a: str, b: str, first: bool) -> int:
    if not first and (a.startswith("0") or b.startswith("0")):
        sa, sb = a.rstrip("0") or "0", b.rstrip("0") or "0"  # compared as fractions
        return (sa > sb) - (sa < sb)
    ia, ib = int(a), int(b)
    return (ia > ib) - (ia < ib)


def compare(a: str, b: str) -> int:
    na, la, sa, ra = _parse(a)
    nb, lb, sb, rb = _parse(b)
    for i, (x, y) in enumerate(zip(na, nb, strict=False)):
        c = _num_cmp(x, y, i == 0)
        if c:
            return c
    if len(na) != len(nb):
        return 1 if len(na) > len(nb) else -1
    if la != lb:
        return 1 if la > lb else -1
    for i in range(max(len(sa), len(sb))):
        xs = sa[i] if i < len(sa) else (0, 0)
        ys = sb[i] if i < len(sb) else (0, 0)
        if xs != ys:
            return 1 if xs > ys else -1
    return (ra > rb) - (ra < rb)
