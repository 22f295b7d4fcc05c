"""Open a store: create the engine, bring the schema to head, hand out sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shipway.model.errors import ConflictError, ExternalError
from shipway.settings import Settings

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

    def close(self) -> None:
        self.engine.dispose()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration (no-op when already there)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with _lock, engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_store(settings: Settings, *, create: bool = True) -> Store:
    url = _normalise(settings.db_url)
    if url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        if create or not inspect(engine).has_table("alembic_version"):
            migrate(engine)
    except SQLAlchemyError as exc:
        raise ExternalError(f"cannot open database: {exc}", subject=url) from exc
    return Store(engine)
