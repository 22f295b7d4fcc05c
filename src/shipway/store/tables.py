"""Table definitions (SQLAlchemy 2 declarative). Migrations mirror these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ResourceRow(Base):
    """A declarative resource as applied, with the status engines write.

    Identified by ``(api_group, kind, namespace, name)``; ``namespace`` is ``""``
    for cluster-scoped kinds.
    """

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("api_group", "kind", "namespace", "name", name="uq_resources_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_group: Mapped[str] = mapped_column(String(253), default="")
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
    """One event (``shipway.model.events.Event``); a repeat bumps ``count`` and ``seq``.

    ``time`` is the last time seen, ``first_time`` the first; ``seq`` is the
    stream position (unique, taken anew by every write); ``key`` the
    aggregation key of the stable fields; ``subject`` is ``Kind/name``.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text, default="")
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    key: Mapped[str] = mapped_column(String(64), index=True, default="")
    type: Mapped[str] = mapped_column(String(16), default="Normal")
    api_version: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(100), default="")
    namespace: Mapped[str] = mapped_column(String(253), default="")
    name: Mapped[str] = mapped_column(String(253), default="")
    uid: Mapped[str] = mapped_column(String(64), default="")
    release_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    first_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=1)


class ReconcileRow(Base):
    """One finished sync operation of an Application: its phase and how long it took."""

    __tablename__ = "app_reconciles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    namespace: Mapped[str] = mapped_column(String(253), default="")
    name: Mapped[str] = mapped_column(String(253), index=True)
    phase: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)


class CIGroupRow(Base):
    """A ``concurrency`` group; its row is the lock entrants take to change the group."""

    __tablename__ = "ci_concurrency_groups"

    group_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class CIHolderRow(Base):
    """One entrant of a ``concurrency`` group: the running one or the pending one."""

    __tablename__ = "ci_concurrency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_key: Mapped[str] = mapped_column(String(500), index=True)
    holder: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))  # running | pending | cancelled
    cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    heartbeat: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CIApprovalRow(Base):
    """A job waiting for a review of its deployment environment, and the decision."""

    __tablename__ = "ci_approvals"
    __table_args__ = (UniqueConstraint("run_id", "job", "environment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    job: Mapped[str] = mapped_column(String(300))
    environment: Mapped[str] = mapped_column(String(253))
    state: Mapped[str] = mapped_column(String(16))  # waiting | approved | rejected
    reviewer: Mapped[str] = mapped_column(String(253), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewers: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # who may decide
    prevent_self: Mapped[bool] = mapped_column(Boolean, default=False)  # not the run's actor
    actor: Mapped[str] = mapped_column(String(253), default="")  # who triggered the run


class CITokenRow(Base):
    """The scopes a job's ``GITHUB_TOKEN`` was issued with (the token only as a hash)."""

    __tablename__ = "ci_tokens"
    __table_args__ = (UniqueConstraint("token_sha256", "job"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    job: Mapped[str] = mapped_column(String(300))
    permissions: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
