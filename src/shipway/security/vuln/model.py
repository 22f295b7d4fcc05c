"""Scan results as data: ``Finding``, ``ScanOptions``, ``ScanReport``.

Pure. A finding is one vulnerability in one package at one place; a
suppressed finding keeps the reason (the ignore rule or VEX statement) and
stays in the report's ``ignored`` list, so a gate and a person see both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from shipway.security.vuln.severity import LEVELS, rank


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    aliases: tuple[str, ...]
    package: str
    type: str  # the package's purl type
    purl: str
    installed: str
    fixed: tuple[str, ...]
    severity: str
    score: float | None
    layer: str
    path: str
    ecosystem: str
    summary: str = ""
    source_name: str = ""
    match_type: str = "exact-direct-match"  # grype's words; by the source package: indirect

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["aliases"], d["fixed"] = list(self.aliases), list(self.fixed)
        return d


class Rule(Protocol):
    """An ignore rule or a VEX statement: the reason it suppresses a finding, or None
    (``image``: the reference scanned, ``""`` when unknown)."""

    def suppresses(self, finding: Finding, image_digest: str, image: str = "") -> str | None: ...


@dataclass
class ScanOptions:
    severities: tuple[str, ...] = LEVELS  # report only these
    ignore_unfixed: bool = False
    fail_on: str | None = None  # exit 1 / a gate refuses at or above this
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Ignored:
    finding: Finding
    reason: str


@dataclass
class ScanReport:
    image: str
    digest: str
    findings: list[Finding] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    packages: int = 0
    db: dict[str, Any] = field(default_factory=dict)
    fail_on: str | None = None

    def counts(self) -> dict[str, int]:
        out = {level: 0 for level in reversed(LEVELS)}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    def at_or_above(self, level: str) -> list[Finding]:
        return [f for f in self.findings if rank(f.severity) >= rank(level)]

    @property
    def failed(self) -> bool:
        return bool(self.fail_on) and bool(self.at_or_above(self.fail_on or "UNKNOWN"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "packages": self.packages,
            "counts": self.counts(),
            "failOn": self.fail_on,
            "failed": self.failed,
            "findings": [f.as_dict() for f in self.findings],
            "ignored": [{**i.finding.as_dict(), "reason": i.reason} for i in self.ignored],
            "db": self.db,
        }
