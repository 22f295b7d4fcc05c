"""The offline vulnerability database: OSV records in a SQLite file.

Adapter (files and SQLite only, never the network). Default file:
``$SHIPWAY_HOME/vuln/osv.db``. ``import_path`` loads a JSON file (one record
or a list), a directory of them (recursively, zips inside too) or an OSV
per-ecosystem zip; a malformed record is reported (file, line, reason) and
the rest still imported. A record replaces one with the same id. Records are
indexed by (ecosystem without its release, package name); PyPI names are
normalised as PEP 503 says.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipway import settings
from shipway.model.errors import InputError, NotFoundError
from shipway.security.vuln import osv
from shipway.security.vuln.match import normalize_name
from shipway.security.vuln.versions import base

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, modified TEXT, source TEXT, doc TEXT);
CREATE TABLE IF NOT EXISTS affected (id TEXT, ecosystem TEXT, name TEXT);
CREATE INDEX IF NOT EXISTS affected_by_name ON affected (ecosystem, name);
CREATE INDEX IF NOT EXISTS affected_by_id ON affected (id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def default_path() -> Path:
    return settings.load().home / "vuln" / "osv.db"


def name_key(ecosystem: str, name: str) -> str:
    return normalize_name(ecosystem, name)


@dataclass
class ImportReport:
    files: int = 0
    imported: int = 0
    problems: list[osv.OsvError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "imported": self.imported,
            "problems": [{"file": p.subject, "reason": p.message} for p in self.problems],
        }


class VulnDB:
    """An open database; ``lookup`` answers from SQLite, parsed records cached."""

    def __init__(self, path: Path | None = None, *, create: bool = False) -> None:
        self.path = Path(path) if path else default_path()
        if not create and not self.path.exists():
            raise NotFoundError(
                "no vulnerability database: run `shipway vuln db import PATH` first",
                subject=str(self.path),
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path)
        self.conn.executescript(SCHEMA)
        self._cache: dict[str, osv.Record] = {}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> VulnDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- import -------------------------------------------------------------
    def add(self, records: Iterable[osv.Record], source: str) -> int:
        n = 0
        cur = self.conn.cursor()
        for rec in records:
            cur.execute("DELETE FROM affected WHERE id = ?", (rec.id,))
            cur.execute(
                "INSERT OR REPLACE INTO records (id, modified, source, doc) VALUES (?, ?, ?, ?)",
                (rec.id, rec.modified, source, json.dumps(osv.to_json(rec))),
            )
            keys = {(base(a.ecosystem), name_key(a.ecosystem, a.name)) for a in rec.affected}
            cur.executemany(
                "INSERT INTO affected (id, ecosystem, name) VALUES (?, ?, ?)",
                [(rec.id, e, nm) for e, nm in sorted(keys)],
            )
            self._cache.pop(rec.id, None)
            n += 1
        return n

    def import_path(self, path: Path) -> ImportReport:
        path = Path(path)
        if not path.exists():
            raise NotFoundError("no such file or directory", subject=str(path))
        report = ImportReport()
        with self.conn:
            for name, text in _sources(path, report):
                report.files += 1
                try:
                    records = osv.loads(text, name)
                except osv.OsvError as exc:
                    report.problems.append(exc)
                    continue
                report.imported += self.add(records, name)
            self._set("imported_at", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            self._set("last_source", str(path))
        return report

    def _set(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- queries ------------------------------------------------------------
    def lookup(self, ecosystem: str, names: Iterable[str]) -> list[osv.Record]:
        keys = sorted({name_key(ecosystem, n) for n in names if n})
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.conn.execute(
            f"SELECT DISTINCT id FROM affected WHERE ecosystem = ? AND name IN ({marks})",
            (base(ecosystem), *keys),
        ).fetchall()
        return [self.record(r[0]) for r in rows]

    def record(self, rec_id: str) -> osv.Record:
        found = self._cache.get(rec_id)
        if found is None:
            row = self.conn.execute("SELECT doc FROM records WHERE id = ?", (rec_id,)).fetchone()
            if row is None:
                raise NotFoundError("no such vulnerability", subject=rec_id)
            found = self._cache[rec_id] = osv.parse(json.loads(row[0]), f"{self.path}:{rec_id}")
        return found

    def status(self) -> dict[str, Any]:
        total = self.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        per = self.conn.execute(
            "SELECT ecosystem, COUNT(DISTINCT id) FROM affected"
            " GROUP BY ecosystem ORDER BY ecosystem"
        ).fetchall()
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        return {
            "path": str(self.path),
            "records": int(total),
            "ecosystems": {str(e): int(n) for e, n in per},
            "importedAt": meta.get("imported_at", ""),
            "lastSource": meta.get("last_source", ""),
            "size": self.path.stat().st_size if self.path.exists() else 0,
        }


def _read_text(data: bytes, name: str, report: ImportReport) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.files += 1
        report.problems.append(osv.OsvError(f"not UTF-8: {exc.reason}", file=name, line=1))
        return None


def _zip(path: Path, report: ImportReport) -> Iterator[tuple[str, str]]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a zip file: {exc}", subject=str(path)) from exc
    with zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.endswith(".json"):
                continue
            name = f"{path}!{info.filename}"
            text = _read_text(zf.read(info), name, report)
            if text is not None:
                yield name, text


def _sources(path: Path, report: ImportReport) -> Iterator[tuple[str, str]]:
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix in (".json", ".zip"):
                yield from _sources(f, report)
        return
    if path.suffix == ".zip" or zipfile.is_zipfile(path):
        yield from _zip(path, report)
        return
    text = _read_text(path.read_bytes(), str(path), report)
    if text is not None:
        yield str(path), text
