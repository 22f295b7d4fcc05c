"""OSV records (ossf.github.io/osv-schema) as checked data: ``parse(doc, file, text)``.

Pure. A record that breaks the schema in a way the matcher cares about
raises ``OsvError`` naming the file, the line of the offending field (found
in the record's text) and the reason; fields the matcher does not read are
not checked. Ranges of type GIT are kept but never match a package version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shipway.model.errors import InputError

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
RANGE_TYPES = ("SEMVER", "ECOSYSTEM", "GIT")


class OsvError(InputError):
    """A malformed OSV record: ``file:line`` and the reason."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    version: str


@dataclass(frozen=True, slots=True)
class Range:
    type: str
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Affected:
    ecosystem: str
    name: str
    purl: str = ""
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()
    severity: str = ""  # ecosystem_specific/database_specific severity, as written


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    modified: str = ""
    aliases: tuple[str, ...] = ()
    summary: str = ""
    withdrawn: str = ""
    severity: tuple[tuple[str, str], ...] = ()  # (type, score): CVSS_V2/V3/V4 vectors
    database_severity: str = ""
    affected: tuple[Affected, ...] = field(default_factory=tuple)


def line_of(text: str | None, needle: str, start: int = 0) -> int:
    """The 1-based line of the first ``"needle"`` key at or after ``start`` (else 1)."""
    if not text:
        return 1
    at = text.find(f'"{needle}"', start)
    if at < 0:
        at = start
    return text.count("\n", 0, max(at, 0)) + 1


class _Checker:
    """Checks fields; ``cursor`` follows the entry being read through the text."""

    def __init__(self, file: str, text: str | None, base_line: int) -> None:
        self.file, self.text, self.base_line = file, text, base_line
        self.cursor = 0

    def mark(self, key: str) -> None:
        """Move to the next ``"key"`` in the text (the start of the next entry)."""
        if self.text:
            at = self.text.find(f'"{key}"', self.cursor + 1 if self.cursor else 0)
            if at >= 0:
                self.cursor = at

    def line(self, key: str | None) -> int:
        if not self.text:
            return self.base_line
        if key is None:
            return self.text.count("\n", 0, self.cursor) + self.base_line
        return line_of(self.text, key, self.cursor) + self.base_line - 1

    def fail(self, key: str | None, reason: str) -> OsvError:
        return OsvError(reason, file=self.file, line=self.line(key))

    def string(self, doc: dict[str, Any], key: str, required: bool = False) -> str:
        value = doc.get(key)
        if value is None:
            if required:
                raise self.fail(None, f"{key} is required")
            return ""
        if not isinstance(value, str):
            raise self.fail(key, f"{key} must be a string, not {type(value).__name__}")
        return value

    def strings(self, doc: dict[str, Any], key: str) -> tuple[str, ...]:
        value = doc.get(key) or []
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise self.fail(key, f"{key} must be a list of strings")
        return tuple(value)

    def objects(self, doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = doc.get(key) or []
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            raise self.fail(key, f"{key} must be a list of objects")
        return value


def _severity_text(doc: Any) -> str:
    if isinstance(doc, dict):
        sev = doc.get("severity")
        if isinstance(sev, str):
            return sev
        if isinstance(sev, list):  # Ubuntu's [{type: Ubuntu, score: medium}]
            for entry in sev:
                if isinstance(entry, dict) and isinstance(entry.get("score"), str):
                    return str(entry["score"])
    return ""


def _range(c: _Checker, doc: dict[str, Any]) -> Range:
    c.mark("type")
    rtype = c.string(doc, "type", required=True)
    if rtype not in RANGE_TYPES:
        raise c.fail("type", f"range type must be one of {', '.join(RANGE_TYPES)}, not {rtype!r}")
    events = []
    for ev in c.objects(doc, "events"):
        if len(ev) != 1:
            raise c.fail("events", "each event must have exactly one of " + ", ".join(EVENT_KINDS))
        ((kind, version),) = ev.items()
        if kind not in EVENT_KINDS:
            raise c.fail(kind, f"unknown event {kind!r} (expected one of {', '.join(EVENT_KINDS)})")
        if not isinstance(version, str) or not version:
            raise c.fail(kind, f"event {kind} must be a non-empty string")
        events.append(Event(kind, version))
    if not events:
        raise c.fail("events", "a range needs at least one event")
    if rtype != "GIT" and not any(e.kind == "introduced" for e in events):
        raise c.fail("events", "a range needs an introduced event")
    return Range(rtype, tuple(events))


def _affected(c: _Checker, doc: dict[str, Any]) -> Affected:
    c.mark("package")
    pkg = doc.get("package")
    if not isinstance(pkg, dict):
        raise c.fail("affected", "affected[].package must be an object with ecosystem and name")
    eco = c.string(pkg, "ecosystem", required=True)
    name = c.string(pkg, "name", required=True)
    sev = _severity_text(doc.get("ecosystem_specific")) or _severity_text(
        doc.get("database_specific")
    )
    return Affected(
        ecosystem=eco,
        name=name,
        purl=c.string(pkg, "purl"),
        ranges=tuple(_range(c, r) for r in c.objects(doc, "ranges")),
        versions=c.strings(doc, "versions"),
        severity=sev,
    )


def parse(doc: Any, file: str, text: str | None = None, base_line: int = 1) -> Record:
    """Check one record (a JSON object) and return it; OsvError on a schema break."""
    c = _Checker(file, text, base_line)
    if not isinstance(doc, dict):
        raise OsvError("an OSV record must be a JSON object", file=file, line=base_line)
    sev = []
    for s in c.objects(doc, "severity"):
        stype, score = c.string(s, "type", required=True), c.string(s, "score", required=True)
        sev.append((stype, score))
    return Record(
        id=c.string(doc, "id", required=True),
        modified=c.string(doc, "modified"),
        aliases=c.strings(doc, "aliases"),
        summary=c.string(doc, "summary"),
        withdrawn=c.string(doc, "withdrawn"),
        severity=tuple(sev),
        database_severity=_severity_text(doc.get("database_specific")),
        affected=tuple(_affected(c, a) for a in c.objects(doc, "affected")),
    )


def loads(text: str, file: str) -> list[Record]:
    """The records of one JSON file (an object, or a list of objects)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OsvError(
            f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno
        ) from exc
    if isinstance(doc, list):
        return [parse(d, file, text) for d in doc]
    return [parse(doc, file, text)]


def to_json(rec: Record) -> dict[str, Any]:
    """The record as the database keeps it (only the fields shipway reads)."""
    return {
        "id": rec.id,
        "modified": rec.modified,
        "aliases": list(rec.aliases),
        "summary": rec.summary,
        "withdrawn": rec.withdrawn,
        "severity": [{"type": t, "score": s} for t, s in rec.severity],
        "database_specific": {"severity": rec.database_severity} if rec.database_severity else {},
        "affected": [
            {
                "package": {
                    "ecosystem": a.ecosystem,
                    "name": a.name,
                    **({"purl": a.purl} if a.purl else {}),
                },
                "ranges": [
                    {"type": r.type, "events": [{e.kind: e.version} for e in r.events]}
                    for r in a.ranges
                ],
                "versions": list(a.versions),
                **({"ecosystem_specific": {"severity": a.severity}} if a.severity else {}),
            }
            for a in rec.affected
        ],
    }
