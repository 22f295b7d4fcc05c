"""Severities: from CVSS vectors (the ``cvss`` library) or the database's own word.

Pure. The record's CVSS vector of the newest version present (v4, v3, v2)
gives a base score and its qualitative rating (v3/v4: 0.1-3.9 LOW, 4.0-6.9
MEDIUM, 7.0-8.9 HIGH, 9.0-10 CRITICAL; v2: LOW below 4, MEDIUM below 7,
HIGH). Without a vector, the affected entry's ``ecosystem_specific``
severity, then the record's ``database_specific`` one, mapped to the same
words (GitHub's MODERATE is MEDIUM; Debian's and Ubuntu's ``negligible`` is
LOW, ``important`` HIGH); else UNKNOWN.
"""

from __future__ import annotations

from cvss import CVSS2, CVSS3, CVSS4, CVSSError  # type: ignore[import-untyped]

from shipway.security.vuln.osv import Affected, Record

LEVELS = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
RANK = {name: i for i, name in enumerate(LEVELS)}
_WORDS = {
    "moderate": "MEDIUM",
    "medium": "MEDIUM",
    "low": "LOW",
    "negligible": "LOW",
    "unimportant": "LOW",
    "high": "HIGH",
    "important": "HIGH",
    "critical": "CRITICAL",
}


def rank(level: str) -> int:
    return RANK.get(level.upper(), 0)


def parse_level(text: str) -> str:
    """A user's severity word, checked: ValueError for an unknown one."""
    up = text.strip().upper()
    if up not in RANK:
        raise ValueError(f"unknown severity {text!r} (one of {', '.join(LEVELS)})")
    return up


def rating(score: float, version: int) -> str:
    if version == 2:
        return "LOW" if score < 4 else "MEDIUM" if score < 7 else "HIGH"
    if score == 0:
        return "UNKNOWN"
    if score < 4:
        return "LOW"
    if score < 7:
        return "MEDIUM"
    return "HIGH" if score < 9 else "CRITICAL"


def _score(stype: str, vector: str) -> tuple[float, int] | None:
    try:
        if stype == "CVSS_V4":
            return float(CVSS4(vector).base_score), 4
        if stype == "CVSS_V3":
            return float(CVSS3(vector).base_score), 3
        if stype == "CVSS_V2":
            return float(CVSS2(vector).base_score), 2
    except (CVSSError, ValueError, KeyError):
        return None
    return None


def of(record: Record, affected: Affected | None = None) -> tuple[str, float | None, str]:
    """``(level, base score or None, where it came from)``."""
    best: tuple[float, int, str] | None = None
    for stype, vector in record.severity:
        got = _score(stype, vector)
        if got is not None and (best is None or got[1] > best[1]):
            best = (got[0], got[1], vector)
    if best is not None:
        return rating(best[0], best[1]), best[0], best[2]
    for word in ((affected.severity if affected else ""), record.database_severity):
        level = _WORDS.get(word.strip().lower())
        if level:
            return level, None, word
    return "UNKNOWN", None, ""
