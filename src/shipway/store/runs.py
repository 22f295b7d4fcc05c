"""Stored CI runs, engine states and the event log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from shipway.model.errors import NotFoundError
from shipway.model.events import Event
from shipway.model.release import now
from shipway.store import reads
from shipway.store.db import Store
from shipway.store.tables import CIRunRow, EngineStateRow


def save_run(store: Store, record: dict[str, Any], log: str, commit: str = "") -> None:
    """Insert or replace a CI run record (the record must not hold secrets)."""
    with store.session() as s:
        row = s.get(CIRunRow, record["id"])
        if row is None:
            s.add(
                CIRunRow(
                    id=record["id"],
                    workflow=record.get("workflow", ""),
                    event=record.get("event", ""),
                    commit=commit,
                    conclusion=record.get("conclusion") or "",
                    created=now(),
                    record=record,
                    log=log,
                )
            )
        else:
            row.record, row.log = record, log
            row.conclusion = record.get("conclusion") or ""


def get_run(store: Store, run_id: str) -> tuple[dict[str, Any], str]:
    with store.session() as s:
        row = s.get(CIRunRow, run_id)
        if row is None:
            rows = list(s.scalars(select(CIRunRow).where(CIRunRow.id.like(f"{run_id}%"))))
            if len(rows) != 1:
                raise NotFoundError(f"CI run {run_id!r} not found", subject=run_id)
            row = rows[0]
        return row.record, row.log


def list_runs(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    return reads.list_runs(reads.engine_reader(store.engine), limit)


def put_state(store: Store, engine: str, key: str, phase: str, state: dict[str, Any]) -> None:
    with store.session() as s:
        row = s.scalars(
            select(EngineStateRow).where(EngineStateRow.engine == engine, EngineStateRow.key == key)
        ).first()
        if row is None:
            s.add(EngineStateRow(engine=engine, key=key, phase=phase, state=state, updated=now()))
        else:
            row.phase, row.state, row.updated = phase, state, now()


def get_state(store: Store, engine: str, key: str) -> tuple[str, dict[str, Any]] | None:
    with store.session() as s:
        row = s.scalars(
            select(EngineStateRow).where(EngineStateRow.engine == engine, EngineStateRow.key == key)
        ).first()
        return (row.phase, dict(row.state)) if row else None


def states(store: Store, engine: str) -> list[tuple[str, str, dict[str, Any]]]:
    with store.session() as s:
        rows = s.scalars(select(EngineStateRow).where(EngineStateRow.engine == engine))
        return [(r.key, r.phase, dict(r.state)) for r in rows]


def record_event(store: Store, source: str, subject: str, reason: str, message: str = "") -> None:
    """An event about ``subject`` (``Kind/name``, a run id, a repo URL), via ``events.emit``."""
    from shipway.model.events import WARNING, from_subject
    from shipway.store import events as store_events

    warning = any(w in reason for w in ("Fail", "Error", "Rejected", "Degraded"))
    store_events.emit(store, from_subject(source, subject), reason, message,
                      type=WARNING if warning else "Normal", source=source)  # fmt: skip


def events(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The newest events first, each a ``v1`` Event with the older ``subject`` and ``time``."""
    from shipway.store import events as store_events

    found = store_events.query(store, limit=limit, newest=True)
    return [e.to_dict() | {"subject": _subject(e), "time": e.to_dict()["lastTimestamp"]}
            for e in reversed(found)]  # fmt: skip


def _subject(e: Event) -> str:
    """The older ``subject``: ``Kind/name``, or the bare name of a run or repository."""
    return e.involved.name if e.involved.kind in ("", "CIRun", "Repository") else e.involved.ref


def exist_since(store: Store, commit: str, event: str, since: dt.datetime) -> bool:
    """Whether a CI run of ``commit`` for ``event`` was stored at or after ``since``."""
    with store.session() as s:
        q = select(CIRunRow.id).where(
            CIRunRow.commit == commit, CIRunRow.event == event, CIRunRow.created >= since
        )
        return s.scalars(q.limit(1)).first() is not None
