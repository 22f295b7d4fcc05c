"""DORA metrics over fixed release records (every expected figure worked out by hand)."""

from __future__ import annotations

import datetime as dt

import pytest

from shipway.model import dora
from shipway.model.errors import InputError
from shipway.model.release import STAGES, Release

DAY0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def release(rid: str, app: str, created_h: float, live_after_min: float | None,
            failed_after_min: float | None = None) -> Release:  # fmt: skip
    """A release created ``created_h`` hours after DAY0 that went live (or failed) later."""
    rel = Release(id=rid, app=app, commit=rid * 4, created=DAY0 + dt.timedelta(hours=created_h))
    t = rel.created
    for name in STAGES:
        rel.start(name, at=t)
        if failed_after_min is not None:
            if name == "sync":
                rel.finish(name, False, "boom",
                           at=rel.created + dt.timedelta(minutes=failed_after_min))  # fmt: skip
                return rel
            rel.finish(name, True, at=t)
            continue
        if live_after_min is None:
            return rel  # still running
        t = rel.created + dt.timedelta(minutes=live_after_min * (STAGES.index(name) + 1) / 5)
        rel.finish(name, True, at=t)
    return rel


RELEASES = [
    release("a1", "web", 0, 10),  # live after 10 min
    release("a2", "web", 24, None, failed_after_min=5),  # fails at 24h05
    release("a3", "web", 26, 30),  # live at 26h30: restores a2 after 2h25 = 8700 s
    release("a4", "web", 48, 20),  # live after 20 min
    release("b1", "api", 1, 40),  # another app
    release("a5", "web", 72, None),  # still running: not finished, not live
]


def window(days: int = 10) -> tuple[dt.datetime, dt.datetime]:
    return DAY0, DAY0 + dt.timedelta(days=days)


def test_one_app() -> None:
    since, until = window()
    d = dora.compute(RELEASES, since=since, until=until, app="web")
    assert (d.releases, d.deployments, d.failures) == (5, 3, 1)
    assert d.deployment_frequency_per_day == pytest.approx(3 / 10)
    # lead times 600, 1800, 1200 s: median 1200, p90 between 1200 and 1800 (interpolated)
    assert d.lead_time_median_seconds == pytest.approx(1200)
    assert d.lead_time_p90_seconds == pytest.approx(1200 + 0.8 * 600)
    assert d.change_failure_rate == pytest.approx(1 / 4)  # a5 is still running
    assert d.time_to_restore_median_seconds == pytest.approx(8700)
    assert (d.restored, d.unrestored) == (1, 0)


def test_every_app() -> None:
    since, until = window()
    d = dora.compute(RELEASES, since=since, until=until)
    assert (d.releases, d.deployments, d.failures) == (6, 4, 1)
    assert d.lead_time_median_seconds == pytest.approx((1200 + 1800) / 2)  # 600 1200 1800 2400


def test_the_window_cuts_by_creation() -> None:
    since = DAY0 + dt.timedelta(hours=12)
    d = dora.compute(RELEASES, since=since, until=since + dt.timedelta(days=1), app="web")
    assert (d.releases, d.deployments, d.failures) == (2, 1, 1)
    assert d.change_failure_rate == pytest.approx(0.5)


def test_an_unrestored_failure() -> None:
    rels = [release("a1", "web", 0, 10), release("a2", "web", 5, None, failed_after_min=1)]
    since, until = window()
    d = dora.compute(rels, since=since, until=until, app="web")
    assert d.time_to_restore_median_seconds is None
    assert (d.restored, d.unrestored) == (0, 1)


def test_rolled_back_counts_as_a_failure_restored_by_its_rollback() -> None:
    rels = [release("a1", "web", 0, 10), release("a2", "web", 1, 10)]
    went = dora.live_at(rels[1])
    assert went is not None
    assert rels[1].roll_back(went + dt.timedelta(minutes=7), "rolled back to a1")
    assert not rels[1].roll_back(went, "twice")  # only a live release is rolled back
    back = Release.from_dict(rels[1].to_dict())  # as stored
    assert (back.status, back.rolled_back) == (dora.ROLLED_BACK, rels[1].rolled_back)
    since, until = window()
    d = dora.compute([rels[0], back], since=since, until=until)
    assert d.change_failure_rate == pytest.approx(0.5)
    assert d.deployments == 2  # it went live: a deployment, then a failure
    assert d.time_to_restore_median_seconds == pytest.approx(7 * 60)


def test_commit_time_when_recorded() -> None:
    rel = release("a1", "web", 1, 10)
    rel.commit_time = rel.created - dt.timedelta(hours=1)
    rel = Release.from_dict(rel.to_dict())  # kept in the record
    since, until = window()
    d = dora.compute([rel], since=since, until=until)
    assert d.lead_time_median_seconds == pytest.approx(3600 + 600)


def test_nothing_to_measure() -> None:
    since, until = window()
    d = dora.compute([], since=since, until=until)
    assert d.deployment_frequency_per_day == 0
    assert d.change_failure_rate is None and d.lead_time_median_seconds is None
    assert d.to_dict()["leadTimeSeconds"] == {"median": None, "p90": None}


WINDOWS = [("30d", 30 * 86400), ("12h", 43200), ("2w", 14 * 86400), ("90m", 5400), ("45s", 45)]


@pytest.mark.parametrize(("text", "seconds"), WINDOWS)
def test_windows(text: str, seconds: int) -> None:
    assert dora.parse_window(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "30", "d", "0d", "-1d", "3x", "1.5d"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(InputError, match="--since"):
        dora.parse_window(text)


def test_empty_window_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        dora.compute([], since=DAY0, until=DAY0)
