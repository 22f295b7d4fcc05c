"""The notification outbox table (SQLAlchemy 2 declarative); migration 0008 mirrors it.

Kept apart from ``tables`` so its schema stays independent of other areas' tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipway.store.tables import Base


class OutboxRow(Base):
    """One notification to deliver: its dedupe key, rendered payload and delivery state.

    ``key`` is unique while the row suppresses repeats; a condition that became
    false again frees it (``key`` gets ``#<id>`` appended) so it can fire anew.
    ``state`` is ``pending`` (``next_at`` says when), ``sent`` or ``failed``.
    """

    __tablename__ = "notify_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    cond: Mapped[str] = mapped_column(String(64), index=True)
    app_namespace: Mapped[str] = mapped_column(String(253), default="")
    app_name: Mapped[str] = mapped_column(String(253))
    trigger: Mapped[str] = mapped_column(String(253))
    service: Mapped[str] = mapped_column(String(253))
    recipient: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    group_key: Mapped[str] = mapped_column(String(300), default="")
    external: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
