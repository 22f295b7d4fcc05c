"""Table definitions (SQLAlchemy 2 declarative). Migrations mirror these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ResourceRow(Base):
    """A declarative resource as applied, with the status engines write."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("kind", "namespace", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(100))
    namespace: Mapped[str] = mapped_column(String(253), default="")
    name: Mapped[str] = mapped_column(String(253))
    api_version: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(Text, default="")
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReleaseRow(Base):
    """One release record; ``body`` is ``Release.to_dict()``."""

    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    app: Mapped[str] = mapped_column(String(253), index=True)
    commit: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class CIRunRow(Base):
    """One CI run: its record (jobs, steps, outcomes) and its masked log."""

    __tablename__ = "ci_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(64))
    commit: Mapped[str] = mapped_column(String(64), default="", index=True)
    conclusion: Mapped[str] = mapped_column(String(32), default="")
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    log: Mapped[str] = mapped_column(Text, default="")


class EngineStateRow(Base):
    """The persisted state of a resumable engine run (a sync, an update pass)."""

    __tablename__ = "engine_state"
    __table_args__ = (UniqueConstraint("engine", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    engine: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(300))
    phase: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    """An event log: every state change an engine publishes, naming its object."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text, default="")
