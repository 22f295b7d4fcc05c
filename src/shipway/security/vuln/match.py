"""Is an installed version affected by an OSV record? The OSV evaluation rules.

Pure. For each ``affected`` entry of the package's ecosystem and name: the
version is affected when it is listed in ``versions`` (compared with the
ecosystem's ordering, so ``1.0`` equals ``1.0.0`` in semver), or when an
ECOSYSTEM or SEMVER range includes it: events sorted by version, an
``introduced`` at or below it opens the range, a ``fixed`` at or below it or a
``last_affected`` below it closes it; ``limit`` events bound the range from
above. ``introduced: "0"`` is below every version. GIT ranges never match.
The fixed versions reported are the ``fixed`` events above the installed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cmp_to_key

from shipway.security.vuln import versions
from shipway.security.vuln.osv import Affected, Event, Range, Record

_KIND_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}
_PEP503 = re.compile(r"[-_.]+")


def normalize_name(ecosystem: str, name: str) -> str:
    """The name as the ecosystem compares it: PyPI's PEP 503 form, else as written."""
    return _PEP503.sub("-", name).lower() if versions.base(ecosystem) == "PyPI" else name


@dataclass(frozen=True, slots=True)
class Hit:
    affected: Affected
    fixed: tuple[str, ...]  # fixed versions above the installed one (lowest first)


def _cmp(eco: str, a: str, b: str) -> int:
    if a == "0" or b == "0":  # "introduced: 0" is below everything
        return (a != "0") - (b != "0")
    return versions.compare(eco, a, b)


def in_range(eco: str, rng: Range, version: str) -> bool:
    """The OSV spec's evaluation of one range for ``version``."""
    if rng.type == "GIT":
        return False
    events = [e for e in rng.events if e.kind != "limit"]
    limits = [e.version for e in rng.events if e.kind == "limit"]

    def order(x: Event, y: Event) -> int:
        return _cmp(eco, x.version, y.version) or _KIND_ORDER[x.kind] - _KIND_ORDER[y.kind]

    events.sort(key=cmp_to_key(order))
    affected = False
    for e in events:
        c = _cmp(eco, version, e.version)
        if e.kind == "introduced" and c >= 0:
            affected = True
        elif (e.kind == "fixed" and c >= 0) or (e.kind == "last_affected" and c > 0):
            affected = False
    if affected and limits:
        affected = any(lim == "*" or _cmp(eco, version, lim) < 0 for lim in limits)
    return affected


def _listed(eco: str, aff: Affected, version: str) -> bool:
    for v in aff.versions:
        if v == version:
            return True
        try:
            if versions.compare(eco, v, version) == 0:
                return True
        except versions.VersionError:
            continue
    return False


def _fixed_above(eco: str, aff: Affected, version: str) -> tuple[str, ...]:
    found: list[str] = []
    for rng in aff.ranges:
        for e in rng.events:
            if e.kind != "fixed" or rng.type == "GIT" or e.version in found:
                continue
            try:
                if _cmp(eco, e.version, version) > 0:
                    found.append(e.version)
            except versions.VersionError:
                continue

    def order(a: str, b: str) -> int:
        return _cmp(eco, a, b)

    return tuple(sorted(found, key=cmp_to_key(order)))


def affects(aff: Affected, version: str) -> Hit | None:
    eco = aff.ecosystem
    hit = _listed(eco, aff, version)
    if not hit:
        for rng in aff.ranges:
            try:
                if in_range(eco, rng, version):
                    hit = True
                    break
            except versions.VersionError:
                continue
    return Hit(aff, _fixed_above(eco, aff, version)) if hit else None


def check(
    record: Record, ecosystems: tuple[str, ...], names: tuple[str, ...], version: str
) -> Hit | None:
    """The first affected entry of ``record`` for one of ``names`` in one of ``ecosystems``.

    An ecosystem ``Debian`` matches records for ``Debian`` and ``Debian:N``;
    ``Debian:12`` matches ``Debian:12`` and plain ``Debian``.
    """
    if record.withdrawn:
        return None
    for aff in record.affected:
        if not _eco_matches(aff.ecosystem, ecosystems):
            continue
        wanted = {normalize_name(aff.ecosystem, n) for n in names}
        if normalize_name(aff.ecosystem, aff.name) not in wanted:
            continue
        hit = affects(aff, version)
        if hit is not None:
            return hit
    return None


def _eco_matches(record_eco: str, wanted: tuple[str, ...]) -> bool:
    rb, _, rv = record_eco.partition(":")
    rv = rv.partition(":")[0]  # Ubuntu:22.04:LTS
    for w in wanted:
        wb, _, wv = w.partition(":")
        if rb == wb and (not rv or not wv or rv == wv):
            return True
    return False
