"""Open a store: create the engine, bring the schema to head, hand out sessions.

``Store.write_lock()`` is what this process's hot writers (the inbox, the event
stream) take around a write transaction: on SQLite, which has one writer at a
time, an in-process lock, so they take turns instead of sleeping in SQLite's
busy handler (whose back-off of up to 100 ms is what a waiting writer would
see); on PostgreSQL nothing.

``Store.listener()`` is the process's one connection LISTENing for the
database's change notifications (PostgreSQL, ``shipway.store.listen``), opened
on first use and closed with the store; None on SQLite.

A SQLite database file is made readable by its owner only (mode 0600; SQLite
gives its ``-wal`` and ``-shm`` files the same mode): the store holds Secrets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shipway.model.errors import ConflictError, ExternalError
from shipway.settings import Settings

if TYPE_CHECKING:
    from shipway.store.listen import Listener

_MIGRATIONS = Path(__file__).parent / "migrations"
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _normalise(url: str) -> str:
    # ``postgresql://`` means psycopg 3 here, the driver we install.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """A database with the shipway schema; ``session()`` is a unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        sqlite = engine.dialect.name == "sqlite"
        self._write_lock: threading.Lock | None = threading.Lock() if sqlite else None
        self._listener: Listener | None = None
        self._listener_lock = threading.Lock()

    def write_lock(self) -> AbstractContextManager[object]:
        """Held around a write transaction by this process's hot writers (see the module)."""
        return self._write_lock if self._write_lock is not None else nullcontext()

    @contextmanager
    def session(self) -> Iterator[Session]:
        s = self._sessions()
        try:
            yield s
            s.commit()
        except ConflictError:
            s.rollback()
            raise
        except SQLAlchemyError as exc:
            s.rollback()
            raise ExternalError(f"database error: {exc}", subject="store") from exc
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def listener(self) -> Listener | None:
        """The one listener of this store's change notifications (see the module)."""
        if self.engine.dialect.name != "postgresql":
            return None
        with self._listener_lock:
            if self._listener is None:
                from shipway.store.listen import Listener

                url = self.engine.url.render_as_string(hide_password=False)
                self._listener = Listener(url)
            return self._listener

    def close(self) -> None:
        with self._listener_lock:
            if self._listener is not None:
                self._listener.close(wait=2.0)
                self._listener = None
        self.engine.dispose()


_PG_MIGRATE_LOCK = 0x5E1B_0A7  # pg_advisory_xact_lock key: one migrating process at a time


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock other processes on this host wait for (SQLite's migrations)."""
    import fcntl

    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to the newest migration, or ``revision`` (no-op when already there).

    Processes that open a new database at once (the controller and a CLI run)
    take turns: PostgreSQL through a transaction-scoped advisory lock, SQLite
    through a lock file beside the database; the later one finds the schema
    at head.
    """
    from alembic import command  # Alembic loads only where the schema may change
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    database = engine.url.database or ""
    sqlite_file = engine.url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    outer = _file_lock(Path(database + ".migrate.lock")) if sqlite_file else nullcontext()
    with _lock, outer, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def engine_for(settings: Settings) -> Engine:
    """The engine of the configured database (nothing is created or migrated)."""
    url = _normalise(settings.db_url)
    if url.startswith("sqlite"):
        # Connections are cheap on SQLite, and a request that finds the pool empty waits:
        # room for the server's thread pool (40) and the workers beside it.
        memory = url.rstrip("/") in ("sqlite:", "sqlite:/", "sqlite://") or ":memory:" in url
        pool = {} if memory else {"pool_size": 8, "max_overflow": 56}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **pool)  # fmt: skip
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def at_head(engine: Engine) -> bool:
    """Whether the schema is at this shipway's newest revision: one query, no Alembic."""
    from shipway.store.reads import HEAD

    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # no such table yet (a new database), or none reachable
        return False
    return [str(row[0]) for row in found] == [HEAD]


def open_store(settings: Settings, *, create: bool = True) -> Store:
    """The store, its schema brought to head (migrating needs no ``shipway migrate``).

    A schema already at head is seen with one query (``at_head``): Alembic is loaded,
    and its scripts read, only when there is something to migrate."""
    url = _normalise(settings.db_url)
    if url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = engine_for(settings)
    try:
        if at_head(engine):
            pass
        elif create or not inspect(engine).has_table("alembic_version"):
            migrate(engine)
    except SQLAlchemyError as exc:
        raise ExternalError(f"cannot open database: {exc}", subject=url) from exc
    if url.startswith("sqlite") and engine.url.database not in (None, "", ":memory:"):
        _owner_only(Path(str(engine.url.database)))
    return Store(engine)


def _owner_only(path: Path) -> None:
    """The database file (and SQLite's side files) readable by its owner only."""
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)
        except OSError:  # not there (yet), or not ours: SQLite reports what matters
            continue
