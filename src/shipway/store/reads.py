"""Read-only queries of the list commands, and a cheap way to run them.

A ``Reader`` runs one SQL text with named (``:name``) parameters and returns
rows. On SQLite it is the stdlib ``sqlite3`` module (no SQLAlchemy, no Alembic:
``shipway get``, ``app list``, ``release list``, ``ci list`` start fast); on
PostgreSQL, or over an open ``Store``, it is the SQLAlchemy engine. The
queries are written once, here; ``shipway.store.resources``, ``releases`` and
``runs`` run the same ones over their store.

Opening a reader checks the schema version (one query of ``alembic_version``)
and never migrates: a database at an older revision is an ``InputError``
saying to run ``shipway migrate``; a database not created yet reads as empty.
May touch: the database, read only.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.model import namespaces as ns_mod
from shipway.model.errors import ExternalError, InputError
from shipway.model.release import Release
from shipway.model.resources import Resource

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from shipway.model.events import Event
    from shipway.settings import Settings

REVISIONS = (
    "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0011", "0012", "0013",
    "0014",
)  # fmt: skip
"""Every migration in order (``shipway.store.migrations``); the last is the head."""
HEAD = REVISIONS[-1]

Run = Callable[[str, Mapping[str, Any]], Sequence[Sequence[Any]]]


class Reader:
    """Runs read-only SQL; ``empty`` when there is no database yet (every query: no rows)."""

    def __init__(self, run: Run | None) -> None:
        self._run = run

    def rows(self, sql: str, **params: Any) -> Sequence[Sequence[Any]]:
        return [] if self._run is None else self._run(sql, params)


def _json(value: Any) -> Any:
    """A JSON column's value: SQLite hands back its text, PostgreSQL the parsed value."""
    return json.loads(value) if isinstance(value, str) else value


def _time(value: Any) -> dt.datetime | None:
    """A DateTime column's value: SQLite hands back its text (UTC), PostgreSQL a datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def engine_reader(engine: Engine) -> Reader:
    """A reader over a SQLAlchemy engine (PostgreSQL, or a ``Store`` already open)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    def run(sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql), dict(params))]
        except SQLAlchemyError as exc:
            if _interrupted(exc):  # Ctrl-C mid-query, and closing the cancelled query failed
                raise KeyboardInterrupt from None
            raise ExternalError(f"database error: {exc}", subject="store") from exc

    return Reader(run)


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a ``KeyboardInterrupt`` was being handled."""
    seen: BaseException | None = exc
    for _ in range(8):
        seen = seen.__context__ if seen is not None else None
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
    return False


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL; None for an in-memory database."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite ``url`` (it may not exist yet); None for another database
    or one in memory."""
    return _sqlite_path(url) if url.startswith("sqlite") else None


def _sqlite_reader(path: Path) -> Reader:
    def run(sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        try:
            conn = sqlite3.connect(path, timeout=30)
        except sqlite3.Error as exc:
            raise ExternalError(f"cannot open database: {exc}", subject=str(path)) from exc
        try:
            return conn.execute(sql, dict(params)).fetchall()
        except sqlite3.Error as exc:
            raise ExternalError(f"database error: {exc}", subject=str(path)) from exc
        finally:
            conn.close()

    return Reader(run)


def check_schema(reader: Reader, where: str) -> Reader:
    """``reader`` when the schema is at ``HEAD``; an empty reader when there is none yet."""
    try:
        found = reader.rows("SELECT version_num FROM alembic_version")
    except ExternalError as exc:
        if "alembic_version" in str(exc):  # no such table: nothing was ever stored
            return Reader(None)
        raise
    version = str(found[0][0]) if found else ""
    if version == HEAD:
        return reader
    if not version:
        return Reader(None)
    if version in REVISIONS:
        raise InputError(
            f"the database schema is at revision {version} and this shipway needs {HEAD}: "
            "run shipway migrate",
            subject=where,
        )
    raise InputError(
        f"the database schema is at revision {version}, newer than this shipway knows "
        f"({HEAD}): upgrade shipway",
        subject=where,
    )


def open_reader(settings: Settings) -> Reader:
    """A reader of the configured database, its schema checked; nothing is created."""
    url = settings.db_url
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is None or not path.exists():
            return Reader(None)
        return check_schema(_sqlite_reader(path), str(path))
    from shipway.store.db import engine_for

    return check_schema(engine_reader(engine_for(settings)), url.split("@")[-1])


_RESOURCE_COLUMNS = "api_version, kind, name, namespace, body, source, status, created, generation"


def list_kind(reader: Reader, kind: str, namespace: str | None = None) -> list[Resource]:
    """Every ``kind`` resource in ``namespace`` (``None``: in all), by namespace and name."""
    where, params = "kind = :kind", {"kind": kind}
    if namespace is not None and ns_mod.namespaced(kind):
        where, params = where + " AND namespace = :ns", {**params, "ns": namespace}
    rows = reader.rows(
        f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE {where} ORDER BY namespace, name",
        **params,
    )
    return [
        Resource(
            api_version=r[0],
            kind=r[1],
            name=r[2],
            namespace=r[3],
            body=_json(r[4]),
            source=r[5] or "",
            status=dict(_json(r[6]) or {}),
            created=_time(r[7]),
            generation=int(r[8] or 1),
        )
        for r in rows
    ]


def list_releases(reader: Reader, app: str | None = None, limit: int = 100,
                  namespace: str | None = None) -> list[Release]:  # fmt: skip
    """Release records, newest first; only ``app``'s when given, only those of applications
    in ``namespace`` when given (a release names its app by its instance name: ``web`` in
    ``argocd``, ``NS_web`` elsewhere; Kubernetes names never hold ``_``)."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if app:
        clauses.append("app = :app")
        params["app"] = app
    if namespace in (ns_mod.ARGOCD, ""):
        clauses.append("app NOT LIKE :other ESCAPE '\\'")
        params["other"] = "%\\_%"
    elif namespace is not None:
        clauses.append("app LIKE :prefix ESCAPE '\\'")
        params["prefix"] = _escaped(namespace) + "\\_%"
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    rows = reader.rows(
        f"SELECT body FROM releases {where}ORDER BY created DESC LIMIT :limit", **params
    )
    return [Release.from_dict(_json(r[0])) for r in rows]


def _escaped(text: str) -> str:
    """``text`` for a LIKE pattern with ``\\`` as its escape: ``%`` and ``_`` taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _by_id(reader: Reader, table: str, columns: str, wanted: str) -> Sequence[Sequence[Any]]:
    """The rows of ``table`` whose id is ``wanted``, else those it is a prefix of (at most 2;
    ``%`` and ``_`` taken literally)."""
    rows = reader.rows(f"SELECT {columns} FROM {table} WHERE id = :id", id=wanted)
    if rows:
        return rows
    like = _escaped(wanted)
    return reader.rows(f"SELECT {columns} FROM {table} WHERE id LIKE :p ESCAPE '\\' LIMIT 2",
                       p=like + "%")  # fmt: skip


def get_release(reader: Reader, release_id: str) -> Release:
    """The release ``release_id`` names (its id, or a prefix of one release's id)."""
    from shipway.model.errors import NotFoundError

    rows = _by_id(reader, "releases", "body", release_id)
    if len(rows) != 1:
        raise NotFoundError(f"release {release_id!r} not found", subject=release_id)
    return Release.from_dict(_json(rows[0][0]))


def get_run(reader: Reader, run_id: str) -> tuple[dict[str, Any], str]:
    """The CI run ``run_id`` names (or a unique prefix): its record and its masked log."""
    from shipway.model.errors import NotFoundError

    rows = _by_id(reader, "ci_runs", "record, log", run_id)
    if len(rows) != 1:
        raise NotFoundError(f"CI run {run_id!r} not found", subject=run_id)
    return dict(_json(rows[0][0]) or {}), str(rows[0][1] or "")


def list_runs(reader: Reader, limit: int = 50) -> list[dict[str, Any]]:
    """CI run records, newest first."""
    rows = reader.rows("SELECT record FROM ci_runs ORDER BY created DESC LIMIT :limit", limit=limit)
    return [_json(r[0]) for r in rows]


def namespace_names(reader: Reader) -> list[str]:
    """The namespaces that exist (as ``store.resources.namespaces``): the built-in ones, each
    Kargo Project's, and those in use."""
    used = reader.rows("SELECT DISTINCT namespace FROM resources")
    projects = reader.rows("SELECT name FROM resources WHERE kind = 'Project'")
    found = {str(r[0] or "") for r in [*used, *projects]} | set(ns_mod.BUILTIN)
    return sorted(found - {""})


def names(reader: Reader, kind: str, namespace: str | None = None) -> list[tuple[str, str]]:
    """``(namespace, name)`` of every stored ``kind`` (in ``namespace``), for completion."""
    where, params = "kind = :kind", {"kind": kind}
    if namespace is not None and ns_mod.namespaced(kind):
        where, params = where + " AND namespace = :ns", {**params, "ns": namespace}
    rows = reader.rows(
        f"SELECT namespace, name FROM resources WHERE {where} ORDER BY namespace, name", **params
    )
    return [(str(r[0] or ""), str(r[1])) for r in rows]


_EVENT_COLUMNS = ("id, time, source, reason, message, seq, type, api_version, kind, namespace, "
                  "name, uid, release_id, first_time, count")  # fmt: skip


def list_events(reader: Reader, *, namespace: str | None = None, kind: str | None = None,
                name: str | None = None, types: Sequence[str] = (), after: int = 0,
                limit: int = 1000, newest: bool = False) -> list[Event]:  # fmt: skip
    """Events after stream position ``after``, in stream order; ``newest``: the last ``limit``
    (what ``shipway.store.events.query`` answers, without SQLAlchemy on SQLite)."""
    where, params = ["seq > :after"], dict[str, Any](after=after, limit=limit)
    if namespace is not None:
        where.append("namespace = :ns")
        params["ns"] = namespace
    if kind:
        where.append("lower(kind) = :kind")
        params["kind"] = kind.lower()
    if name:
        where.append("name = :name")
        params["name"] = name
    if types:
        where.append(f"type IN ({', '.join(f':t{i}' for i in range(len(types)))})")
        params.update({f"t{i}": t for i, t in enumerate(types)})
    order = "DESC" if newest else "ASC"
    rows = reader.rows(f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} "
                       f"ORDER BY seq {order} LIMIT :limit", **params)  # fmt: skip
    found = [_event(r) for r in rows]
    return list(reversed(found)) if newest else found


def _event(r: Sequence[Any]) -> Event:
    from shipway.model.events import Event, ObjectRef  # not on the everyday lists' path

    last = _time(r[1])
    assert last is not None
    involved = ObjectRef(str(r[8] or ""), str(r[10] or ""), str(r[9] or ""), str(r[7] or ""),
                         str(r[11] or ""))  # fmt: skip
    return Event(involved, str(r[3]), str(r[4] or ""), str(r[6] or "Normal"), str(r[12] or ""),
                 str(r[2] or ""), first=_time(r[13]) or last, last=last, count=int(r[14] or 1),
                 seq=int(r[5] or r[0]), id=int(r[0]))  # fmt: skip


def last_event_seq(reader: Reader) -> int:
    """The newest stream position (0 for none)."""
    rows = reader.rows("SELECT coalesce(max(seq), 0) FROM events")
    return int(rows[0][0] or 0) if rows else 0
