"""CI coordination shared by every process on one database.

``concurrency`` groups (one running and at most one pending entrant per
group, with heartbeats so a dead holder is released; GitLab's redundant
pipelines join a group with ``supersede``, running at once and asking the
older entrants to give way), environment approvals
(a waiting job and the decision a reviewer records), and the scopes of issued
``GITHUB_TOKEN``s. Each group change happens under the group's lock row
(``SELECT ... FOR UPDATE`` on PostgreSQL; the first write of a transaction
takes SQLite's write lock), so two processes never both run a concurrency group.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shipway.model.errors import ConflictError, NotFoundError
from shipway.model.events import rfc3339
from shipway.model.release import now
from shipway.store.db import Store
from shipway.store.recorded import HOST, aware, pid_alive
from shipway.store.tables import CIApprovalRow, CIGroupRow, CIHolderRow, CITokenRow

STALE_SECONDS = 15.0  # a holder whose heartbeat is older than this is gone


def _stale(row: CIHolderRow, at: dt.datetime) -> bool:
    if row.host == HOST and row.pid != os.getpid() and not pid_alive(row.pid):
        return True
    return (at - aware(row.heartbeat)).total_seconds() > STALE_SECONDS


def _lock(s: Session, group: str) -> list[CIHolderRow]:
    """Take the group's lock row; return its live entrants (stale ones are removed)."""
    dialect = s.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    s.execute(insert(CIGroupRow).values(group_key=group, version=0).on_conflict_do_nothing())
    s.execute(
        update(CIGroupRow)
        .where(CIGroupRow.group_key == group)
        .values(version=CIGroupRow.version + 1)
    )
    s.scalars(select(CIGroupRow).where(CIGroupRow.group_key == group).with_for_update()).first()
    at = now()
    rows = list(s.scalars(select(CIHolderRow).where(CIHolderRow.group_key == group)))
    live = []
    for row in rows:
        if _stale(row, at):
            s.delete(row)
        else:
            live.append(row)
    return live


def enter(store: Store, group: str, holder: str, cancel_in_progress: bool) -> tuple[int, str]:
    """Join ``group``; return (entry id, ``running`` or ``pending``).

    A running holder is asked to cancel when ``cancel_in_progress``; an older
    pending entrant is cancelled (the newest pending one wins).
    """
    with store.session() as s:
        live = _lock(s, group)
        running = [r for r in live if r.state == "running"]
        for r in live:
            if r.state == "pending":
                r.state = "cancelled"
        if running and cancel_in_progress:
            for r in running:
                r.cancel = True
        state = "pending" if running else "running"
        at = now()
        row = CIHolderRow(group_key=group, holder=holder, state=state, cancel=False,
                          pid=os.getpid(), host=HOST, heartbeat=at, created=at)  # fmt: skip
        s.add(row)
        s.flush()
        return row.id, state


def poll(store: Store, group: str, entry: int) -> tuple[str, bool]:
    """Refresh an entrant's heartbeat; return (its state, whether cancel was asked).

    A pending entrant becomes ``running`` once no live holder runs the group;
    ``gone`` means the entry was removed (its process was taken for dead).
    """
    with store.session() as s:
        live = _lock(s, group)
        mine = next((r for r in live if r.id == entry), None)
        if mine is None:
            return "gone", True
        mine.heartbeat = now()
        if mine.state == "pending" and not any(r.state == "running" for r in live):
            mine.state = "running"
        return mine.state, mine.cancel


ASKED_BY = " <- "  # an entrant asked to give way: ``holder <- asker``


def supersede(store: Store, group: str, holder: str,
              spares: Callable[[str], bool]) -> tuple[int, list[str]]:  # fmt: skip
    """Join ``group`` running at once (never pending), asking every older running entrant
    that ``spares`` does not spare to give way; return (entry id, the holders asked).

    GitLab's redundant pipelines: the newer one runs, the older ones decide what of
    theirs to cancel when their heartbeat (``poll``) sees the ask; ``asked_by`` names
    the asker (kept in the asked row, so it outlives the asker's entry).
    """
    with store.session() as s:
        live = _lock(s, group)
        asked = []
        for r in live:
            if r.state == "running" and not r.cancel and not spares(r.holder):
                r.cancel = True
                r.holder = f"{r.holder}{ASKED_BY}{holder}"[:300]
                asked.append(r.holder.split(ASKED_BY)[0])
        at = now()
        row = CIHolderRow(group_key=group, holder=holder, state="running", cancel=False,
                          pid=os.getpid(), host=HOST, heartbeat=at, created=at)  # fmt: skip
        s.add(row)
        s.flush()
        return row.id, asked


def asked_by(store: Store, entry: int) -> str | None:
    """Who asked this entrant to give way (``supersede``); None if nobody named did."""
    with store.session() as s:
        row = s.get(CIHolderRow, entry)
        if row is None or not row.cancel or ASKED_BY not in row.holder:
            return None
        return row.holder.split(ASKED_BY, 1)[1]


def leave(store: Store, entry: int) -> None:
    with store.session() as s:
        s.execute(delete(CIHolderRow).where(CIHolderRow.id == entry))


def holders(store: Store, group: str | None = None) -> list[dict[str, Any]]:
    """The entrants of one group (or all), for status displays and tests."""
    with store.session() as s:
        q = select(CIHolderRow).order_by(CIHolderRow.id)
        if group is not None:
            q = q.where(CIHolderRow.group_key == group)
        return [
            {"group": r.group_key, "holder": r.holder, "state": r.state,
             "cancel": r.cancel, "pid": r.pid, "host": r.host}
            for r in s.scalars(q)
        ]  # fmt: skip


# -- environment approvals -------------------------------------------------------
def _approval_row(s: Session, run_id: str, job: str, environment: str) -> CIApprovalRow | None:
    q = select(CIApprovalRow).where(
        CIApprovalRow.run_id == run_id,
        CIApprovalRow.job == job,
        CIApprovalRow.environment == environment,
    )
    return s.scalars(q).first()


def request_approval(
    store: Store,
    run_id: str,
    job: str,
    environment: str,
    *,
    reviewers: list[str] | None = None,
    prevent_self: bool = False,
    actor: str = "",
) -> str:
    """Record that ``job`` waits for a review of ``environment``; return the current state.

    ``reviewers`` (who may decide), ``prevent_self`` and the run's ``actor``
    are kept with the request so whoever decides is checked against them.
    """
    with store.session() as s:
        row = _approval_row(s, run_id, job, environment)
        if row is None:
            row = CIApprovalRow(run_id=run_id, job=job, environment=environment,
                                state="waiting", reviewer="", comment="", created=now(),
                                reviewers=list(reviewers or []), prevent_self=prevent_self,
                                actor=actor)  # fmt: skip
            s.add(row)
            return "waiting"
        return row.state


def approval(store: Store, run_id: str, job: str, environment: str) -> dict[str, Any] | None:
    with store.session() as s:
        row = _approval_row(s, run_id, job, environment)
        return None if row is None else _approval_dict(row)


def _approval_dict(row: CIApprovalRow) -> dict[str, Any]:
    return {"run": row.run_id, "job": row.job, "environment": row.environment,
            "state": row.state, "reviewer": row.reviewer, "comment": row.comment,
            "since": rfc3339(aware(row.created)), "reviewers": list(row.reviewers or []),
            "preventSelfReview": bool(row.prevent_self), "actor": row.actor or ""}  # fmt: skip


Refusal = Callable[[dict[str, Any]], str | None]  # why a reviewer may not decide a request


def decide(
    store: Store,
    run_id: str,
    environment: str,
    approve: bool,
    reviewer: str,
    comment: str = "",
    refuse: Refusal | None = None,
) -> list[dict[str, Any]]:
    """Approve or reject every job of a run waiting on ``environment``; return them.

    ``run_id`` may be a unique prefix. Raises ``NotFoundError`` when nothing
    waits, ``ConflictError`` (nothing decided) when ``refuse`` gives a reason
    for one of the waiting jobs.
    """
    with store.session() as s:
        rows = list(
            s.scalars(
                select(CIApprovalRow).where(
                    CIApprovalRow.run_id.like(f"{run_id}%"), CIApprovalRow.state == "waiting"
                )
            )
        )
        rows = [r for r in rows if r.environment.lower() == environment.lower()]
        if not rows:
            raise NotFoundError(
                f"no job of run {run_id!r} is waiting for a review of environment {environment!r}",
                subject=run_id,
            )
        for row in rows:
            reason = refuse(_approval_dict(row)) if refuse is not None else None
            if reason:
                raise ConflictError(
                    f"review of {row.environment} refused: {reason}", subject=row.run_id
                )
        for row in rows:
            row.state = "approved" if approve else "rejected"
            row.reviewer, row.comment, row.decided = reviewer, comment, now()
        return [_approval_dict(r) for r in rows]


def waiting(store: Store, run_id: str | None = None) -> list[dict[str, Any]]:
    """The jobs waiting for a review (of one run, or all), oldest first."""
    with store.session() as s:
        q = select(CIApprovalRow).where(CIApprovalRow.state == "waiting")
        if run_id:
            q = q.where(CIApprovalRow.run_id.like(f"{run_id}%"))
        return [_approval_dict(r) for r in s.scalars(q.order_by(CIApprovalRow.id))]


# -- token scopes ----------------------------------------------------------------
TOKEN_HOURS = 24.0  # a job's token is valid until the job ends, at most this long


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_token(store: Store, token: str, run_id: str, job: str, perms: dict[str, str]) -> None:
    """Remember which scopes ``job`` of ``run_id`` holds with ``token`` (stored as a hash).

    The token is valid from now until ``expire_token`` (the job ended) or
    ``TOKEN_HOURS``, whichever comes first; recording it again revives it.
    """
    digest, at = token_hash(token), now()
    until = at + dt.timedelta(hours=TOKEN_HOURS)
    with store.session() as s:
        row = s.scalars(
            select(CITokenRow).where(CITokenRow.token_sha256 == digest, CITokenRow.job == job)
        ).first()
        if row is None:
            s.add(CITokenRow(token_sha256=digest, run_id=run_id, job=job, permissions=dict(perms),
                             created=at, expires=until, ended=None))  # fmt: skip
        else:
            row.permissions, row.run_id = dict(perms), run_id
            row.created, row.expires, row.ended = at, until, None


def expire_token(store: Store, token: str, job: str | None = None) -> None:
    """The job (or every job) holding ``token`` ended: the token is no longer valid for it."""
    q = update(CITokenRow).where(
        CITokenRow.token_sha256 == token_hash(token), CITokenRow.ended.is_(None)
    )
    if job is not None:
        q = q.where(CITokenRow.job == job)
    with store.session() as s:
        s.execute(q.values(ended=now()))


def expire_run_tokens(store: Store, run_id: str) -> None:
    """Every token still valid in ``run_id`` ends (the run is over)."""
    with store.session() as s:
        s.execute(
            update(CITokenRow)
            .where(CITokenRow.run_id == run_id, CITokenRow.ended.is_(None))
            .values(ended=now())
        )


def _active(row: CITokenRow, at: dt.datetime) -> bool:
    return row.ended is None and (row.expires is None or aware(row.expires) > at)


def _token_rows(store: Store, digest: str, job: str | None) -> list[CITokenRow]:
    with store.session() as s:
        q = select(CITokenRow).where(CITokenRow.token_sha256 == digest).order_by(CITokenRow.id)
        if job is not None:
            q = q.where(CITokenRow.job == job)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


def token_info(store: Store, token: str, *, digest: str = "") -> dict[str, Any] | None:
    """What shipway knows of a token: its run and jobs, and whether it is still valid.

    None when shipway never issued it. ``state`` is ``active`` while a job
    holding it runs, else ``expired`` (``ended`` or ``expires`` says when).
    """
    rows = _token_rows(store, digest or token_hash(token), None)
    if not rows:
        return None
    at = now()
    live = [r for r in rows if _active(r, at)]
    last = rows[-1]
    ended = max((aware(r.ended) for r in rows if r.ended is not None), default=None)
    return {"run": last.run_id, "jobs": [r.job for r in rows],
            "state": "active" if live else "expired",
            "ended": rfc3339(ended) or "",
            "expires": rfc3339(aware(last.expires)) if last.expires else ""}  # fmt: skip


def token_scopes(
    store: Store, token: str, job: str | None = None, *, digest: str = ""
) -> dict[str, str] | None:
    """The scopes ``token`` is valid with now (for ``job``, or the least any live job holds).

    None (refused) when shipway never issued that token or when every job
    that held it has ended or it is older than ``TOKEN_HOURS``: a token used
    after its job grants nothing. ``token_info`` says which.
    """
    at = now()
    rows = [r for r in _token_rows(store, digest or token_hash(token), job) if _active(r, at)]
    if not rows:
        return None
    rank = {"none": 0, "read": 1, "write": 2}
    out: dict[str, str] = dict(rows[0].permissions)
    for row in rows[1:]:
        for scope, level in row.permissions.items():
            if rank.get(level, 0) < rank.get(out.get(scope, "none"), 0):
                out[scope] = level
    return out


def tokens(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The tokens issued in a run (hashes only), per job, for status displays and tests."""
    at = now()
    with store.session() as s:
        q = select(CITokenRow).where(CITokenRow.run_id == run_id).order_by(CITokenRow.id)
        return [{"job": r.job, "sha256": r.token_sha256, "permissions": dict(r.permissions),
                 "state": "active" if _active(r, at) else "expired"}
                for r in s.scalars(q)]  # fmt: skip
