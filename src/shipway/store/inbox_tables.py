"""Tables of the durable event inbox and the hook keys (SQLAlchemy 2 declarative).

Kept apart from ``tables`` so the inbox's schema (migration 0005) stays
independent of other areas' tables. Migrations mirror these.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipway.store.tables import Base


class InboxRow(Base):
    """One accepted event or one unit of work derived from it, taken by a worker under a lease.

    ``dedupe`` is unique: a forge delivery id (replay protection) or a work
    key such as ``ci|Pipeline|push|sha`` (idempotency); a second insert with
    the same key is refused by the database and reported as a duplicate.
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_state_kind_id", "state", "kind", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe: Mapped[str | None] = mapped_column(String(500), unique=True, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))  # pending | leased | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str] = mapped_column(String(300), default="")
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")


class HookKeyRow(Base):
    """A random key from which the controller derives its hook tokens (one row per purpose)."""

    __tablename__ = "hook_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
