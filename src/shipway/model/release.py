"""The release record: one row per release, from source commit to live revision.

A release moves through ordered stages; each stage has a status and times:

- ``ci``: the CI run of the source commit (its build-and-push step included);
- ``image``: from the registry recording the push to shipway's updater taking
  it up (the event's delivery; it overlaps the end of ``ci``);
- ``update``: choosing the tag by policy, editing and pushing the config repo;
- ``sync``: the reconciler applying that config revision to the target;
- ``health``: from the sync until the application reports Healthy.

``commit_time`` is when the source commit was made (its committer date, read
from git by the controller), the start of DORA's lead time. A live release
that is rolled back (``roll_back``) ends ``RolledBack`` with the rollback's
time (``rolled_back``): a change failure, restored by the rollback.

A release whose image a Kargo Warehouse took up names that Freight
(``freight``); the Freight's promotions, verifications and rollbacks are its
journey, kept by ``shipway.promote.records``.

The record is data; engines advance it with the pure functions here and the
store persists it. Pure: no I/O.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

STAGES = ("ci", "image", "update", "sync", "health")

PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED = (
    "Pending",
    "Running",
    "Succeeded",
    "Failed",
    "Skipped",
)
FINAL = (SUCCEEDED, FAILED, SKIPPED)
ROLLED_BACK = "RolledBack"  # a release that went live, then was rolled back


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC ending in ``Z`` (``2026-12-03T08:00:00.123Z``); a naive time is UTC."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Stage:
    """One stage of a release (ci, image, update, sync, health) and its outcome."""

    name: str
    status: str = PENDING
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    message: str = ""

    @property
    def seconds(self) -> float | None:
        if self.started and self.finished:
            return (self.finished - self.started).total_seconds()
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "started": iso(self.started),
            "finished": iso(self.finished),
            "seconds": self.seconds,
            "message": self.message,
        }


@dataclass
class Release:
    """What one source commit became on its way to one application."""

    id: str
    app: str
    commit: str
    source_repo: str = ""
    ci_run: str | None = None
    image: str | None = None  # always pinned: repo@sha256:...
    config_commit: str | None = None
    revision: str | None = None  # the config revision live on the target
    status: str = RUNNING
    message: str = ""
    created: dt.datetime = field(default_factory=now)
    finished: dt.datetime | None = None
    stages: list[Stage] = field(default_factory=lambda: [Stage(n) for n in STAGES])
    security: dict[str, Any] = field(default_factory=dict)  # policy gates, signatures, scans
    commit_time: dt.datetime | None = None
    rolled_back: dt.datetime | None = None
    # the Kargo Freight the image became ({project, name, alias, warehouse}): its promotions
    # across stages are the Freight's journey (``shipway release get NAME --project P``)
    freight: dict[str, Any] = field(default_factory=dict)

    def stage(self, name: str) -> Stage:
        for st in self.stages:
            if st.name == name:
                return st
        raise KeyError(name)

    def start(self, name: str, at: dt.datetime | None = None) -> None:
        st = self.stage(name)
        if st.status == PENDING:
            st.status, st.started = RUNNING, at or now()

    def finish(self, name: str, ok: bool, message: str = "", at: dt.datetime | None = None) -> None:
        """Close one stage; a failure fails the release, the last success completes it."""
        st = self.stage(name)
        when = at or now()
        if st.started is None:
            st.started = when
        st.status, st.finished, st.message = (SUCCEEDED if ok else FAILED), when, message
        if not ok:
            self.status, self.finished = FAILED, when
            self.message = f"stage {name} failed: {message}" if message else f"stage {name} failed"
            for later in self.stages:
                if later.status == PENDING:
                    later.status = SKIPPED
        elif all(s.status in FINAL for s in self.stages):
            self.status, self.finished = SUCCEEDED, when

    def roll_back(self, at: dt.datetime, message: str) -> bool:
        """A live release rolled back at ``at``; False (unchanged) when it was not live."""
        if self.status != SUCCEEDED:
            return False
        self.status, self.rolled_back, self.message = ROLLED_BACK, at, message
        return True

    @property
    def failed_stage(self) -> str | None:
        for st in self.stages:
            if st.status == FAILED:
                return st.name
        return None

    def to_dict(self) -> dict[str, Any]:
        """The fields in their order (as ``asdict``, without its deep copy of every leaf)."""
        total = (self.finished - self.created).total_seconds() if self.finished else None
        return {
            "id": self.id,
            "app": self.app,
            "commit": self.commit,
            "source_repo": self.source_repo,
            "ci_run": self.ci_run,
            "image": self.image,
            "config_commit": self.config_commit,
            "revision": self.revision,
            "status": self.status,
            "message": self.message,
            "created": iso(self.created),
            "finished": iso(self.finished),
            "stages": [s.to_dict() for s in self.stages],
            "security": copy.deepcopy(self.security) if self.security else {},
            "freight": dict(self.freight),
            "commit_time": iso(self.commit_time),
            "rolled_back": iso(self.rolled_back),
            "seconds": total,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Release:
        def parse(v: str | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(v) if v else None

        stages = [
            Stage(
                name=s["name"],
                status=s["status"],
                started=parse(s.get("started")),
                finished=parse(s.get("finished")),
                message=s.get("message", ""),
            )
            for s in data.get("stages", [])
        ]
        created = parse(data.get("created")) or now()
        return cls(
            id=data["id"],
            app=data["app"],
            commit=data["commit"],
            source_repo=data.get("source_repo", ""),
            ci_run=data.get("ci_run"),
            image=data.get("image"),
            config_commit=data.get("config_commit"),
            revision=data.get("revision"),
            status=data.get("status", RUNNING),
            message=data.get("message", ""),
            created=created,
            finished=parse(data.get("finished")),
            stages=stages or [Stage(n) for n in STAGES],
            security=dict(data.get("security") or {}),
            freight=dict(data.get("freight") or {}),
            commit_time=parse(data.get("commit_time")),
            rolled_back=parse(data.get("rolled_back")),
        )
