"""Stored release records; a release's creation and end are events (with its id).

``roll_back`` marks the release live on an app ``RolledBack`` (a rollback away from it).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shipway.model.errors import NotFoundError
from shipway.model.release import FAILED, SUCCEEDED, Release
from shipway.store import reads
from shipway.store.db import Store
from shipway.store.tables import ReleaseRow


def save(store: Store, rel: Release) -> None:
    body = rel.to_dict()
    with store.session() as s:
        row = s.get(ReleaseRow, rel.id)
        before = None if row is None else row.status
        if row is None:
            s.add(
                ReleaseRow(
                    id=rel.id,
                    app=rel.app,
                    commit=rel.commit,
                    status=rel.status,
                    created=rel.created,
                    body=body,
                )
            )
        else:
            row.status, row.body, row.app = rel.status, body, rel.app
    _release_event(store, rel, before)


def _release_event(store: Store, rel: Release, before: str | None) -> None:
    """``ReleaseCreated``, then ``ReleaseSucceeded`` or ``ReleaseFailed`` when it ends."""
    from shipway.model import events as ev
    from shipway.store import events as store_events

    if before == rel.status:
        return
    obj = ev.ObjectRef("Application", rel.app)
    commit = rel.commit[:12] or "no commit"
    if before is None:
        store_events.emit(store, obj, "ReleaseCreated", f"release {rel.id} of {commit}",
                          release_id=rel.id, source="releases")  # fmt: skip
    if rel.status == SUCCEEDED:
        store_events.emit(store, obj, "ReleaseSucceeded",
                          f"{commit} live as {(rel.revision or '')[:12] or 'its revision'}",
                          release_id=rel.id, source="releases")  # fmt: skip
    elif rel.status == FAILED:
        store_events.emit(store, obj, "ReleaseFailed", rel.message or "failed",
                          type=ev.WARNING, release_id=rel.id, source="releases")  # fmt: skip


def get(store: Store, release_id: str) -> Release:
    with store.session() as s:
        row = s.get(ReleaseRow, release_id)
        if row is None:
            rows = list(s.scalars(select(ReleaseRow).where(ReleaseRow.id.like(f"{release_id}%"))))
            if len(rows) != 1:
                raise NotFoundError(f"release {release_id!r} not found", subject=release_id)
            row = rows[0]
        return Release.from_dict(row.body)


def list_releases(store: Store, app: str | None = None, limit: int = 100,
                  namespace: str | None = None) -> list[Release]:  # fmt: skip
    return reads.list_releases(reads.engine_reader(store.engine), app, limit, namespace)


def for_commit(store: Store, commit: str, app: str | None = None) -> list[Release]:
    with store.session() as s:
        q = select(ReleaseRow).where(ReleaseRow.commit == commit)
        if app:
            q = q.where(ReleaseRow.app == app)
        return [Release.from_dict(r.body) for r in s.scalars(q.order_by(ReleaseRow.created))]


def roll_back(
    store: Store, app: str, to_revision: str, at: dt.datetime, message: str
) -> Release | None:
    """``app`` was rolled back to config revision ``to_revision``: its newest live release (when
    it is not that revision's) becomes ``RolledBack`` at ``at``; returns it."""
    for rel in list_releases(store, app=app, limit=50):
        if rel.status != SUCCEEDED:
            continue
        if rel.revision == to_revision or not rel.roll_back(at, message):
            return None
        save(store, rel)
        return rel
    return None
