"""DORA's four delivery metrics, computed from release records.

- deployment frequency: releases that went live (Succeeded, or RolledBack
  after going live) per day over the window;
- lead time for changes: from the commit (``commit_time``, the committer date
  the controller read from git, else the release's creation, when CI picked the
  commit up) to live (the ``health`` stage's finish, else the release's finish);
  median and p90; for commit to production, ask for the app of the last stage
  (``--app web-prod``);
- change failure rate: releases that failed or were rolled back, over all
  finished releases;
- time to restore: from a failed release to the next release of the same app
  that went live, and from a rolled-back release going live to its rollback;
  median over the failures that were restored.

A release is counted when it was created inside ``[since, until)``. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from shipway.model.errors import InputError
from shipway.model.release import FAILED, ROLLED_BACK, SUCCEEDED, Release

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_window(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` → a duration (a clear error otherwise)."""
    t = text.strip()
    if len(t) < 2 or t[-1] not in _UNITS or not t[:-1].isdigit() or int(t[:-1]) <= 0:
        raise InputError(f"--since {text!r}: expected a positive number and s, m, h, d or w "
                         "(e.g. 30d)", subject="since")  # fmt: skip
    return dt.timedelta(seconds=int(t[:-1]) * _UNITS[t[-1]])


def _commit_time(rel: Release) -> dt.datetime:
    return rel.commit_time or rel.created


def live_at(rel: Release) -> dt.datetime | None:
    """When the release went live: its health stage's finish, else the release's."""
    if rel.status not in (SUCCEEDED, ROLLED_BACK):
        return None
    for st in rel.stages:
        if st.name == "health" and st.finished:
            return st.finished
    return rel.finished


def failed(rel: Release) -> bool:
    return rel.status in (FAILED, ROLLED_BACK)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    # nearest-rank on the sorted values, interpolated between neighbours
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Dora:
    app: str | None
    since: dt.datetime
    until: dt.datetime
    releases: int
    deployments: int
    failures: int
    deployment_frequency_per_day: float
    lead_time_median_seconds: float | None
    lead_time_p90_seconds: float | None
    change_failure_rate: float | None
    time_to_restore_median_seconds: float | None
    restored: int
    unrestored: int

    def to_dict(self) -> dict[str, Any]:
        def iso(t: dt.datetime) -> str:
            return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return {
            "app": self.app,
            "since": iso(self.since),
            "until": iso(self.until),
            "releases": self.releases,
            "deployments": self.deployments,
            "failures": self.failures,
            "deploymentFrequencyPerDay": self.deployment_frequency_per_day,
            "leadTimeSeconds": {
                "median": self.lead_time_median_seconds,
                "p90": self.lead_time_p90_seconds,
            },
            "changeFailureRate": self.change_failure_rate,
            "timeToRestoreSeconds": {
                "median": self.time_to_restore_median_seconds,
                "restored": self.restored,
                "unrestored": self.unrestored,
            },
        }


def compute(
    releases: list[Release],
    *,
    since: dt.datetime,
    until: dt.datetime,
    app: str | None = None,
) -> Dora:
    """The four metrics over the releases of ``app`` (all apps when None) in the window."""
    if until <= since:
        raise InputError("the window is empty: until is not after since", subject="dora")
    mine = sorted((r for r in releases if app is None or r.app == app), key=lambda r: r.created)
    window = [r for r in mine if since <= r.created < until]
    live = [r for r in window if live_at(r) is not None]
    leads = []
    for r in live:
        went = live_at(r)
        assert went is not None
        leads.append(max(0.0, (went - _commit_time(r)).total_seconds()))
    finished = [r for r in window if r.status in (SUCCEEDED, FAILED, ROLLED_BACK)]
    fails = [r for r in finished if failed(r)]
    restores: list[float] = []
    unrestored = 0
    for f in fails:
        went = live_at(f)
        if f.status == ROLLED_BACK and went is not None and f.rolled_back is not None:
            restores.append(max(0.0, (f.rolled_back - went).total_seconds()))
            continue
        down = f.finished or f.created
        later = [live_at(r) for r in mine if r.app == f.app and r.created >= f.created]
        ups = [t for t in later if t is not None and t >= down]
        if ups:
            restores.append((min(ups) - down).total_seconds())
        else:
            unrestored += 1
    days = (until - since).total_seconds() / 86400
    return Dora(
        app=app,
        since=since,
        until=until,
        releases=len(window),
        deployments=len(live),
        failures=len(fails),
        deployment_frequency_per_day=len(live) / days,
        lead_time_median_seconds=_quantile(leads, 0.5),
        lead_time_p90_seconds=_quantile(leads, 0.9),
        change_failure_rate=(len(fails) / len(finished)) if finished else None,
        time_to_restore_median_seconds=_quantile(restores, 0.5),
        restored=len(restores),
        unrestored=unrestored,
    )
