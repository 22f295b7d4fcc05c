"""CronJob schedules: parsing and the next run time, as Kubernetes computes them."""

from __future__ import annotations

import datetime as dt

import pytest

from shipway.model import cron
from shipway.model.errors import InputError


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _next(expr: str, after: str, zone: str | None = None) -> str:
    got = cron.next_after(cron.parse(expr, zone), _t(after))
    assert got is not None
    return got.strftime("%Y-%m-%d %H:%M %a")


@pytest.mark.parametrize(
    ("expr", "after", "want"),
    [
        ("* * * * *", "2026-03-01T10:15:30", "2026-03-01 10:16 Sun"),
        ("* * * * *", "2026-03-01T10:15:00", "2026-03-01 10:16 Sun"),  # strictly after
        ("*/15 * * * *", "2026-03-01T10:16:00", "2026-03-01 10:30 Sun"),
        ("5 */6 * * *", "2026-03-01T06:05:00", "2026-03-01 12:05 Sun"),
        ("0 9-17/4 * * *", "2026-03-01T13:00:00", "2026-03-01 17:00 Sun"),
        ("0 0 * * MON-FRI", "2026-03-06T12:00:00", "2026-03-09 00:00 Mon"),  # Fri → Mon
        ("0 0 * * 7", "2026-03-02T00:00:00", "2026-03-08 00:00 Sun"),  # 7 is Sunday
        ("0 0 1 JAN,jul *", "2026-03-01T00:00:00", "2026-07-01 00:00 Wed"),
        ("0 0 31 * *", "2026-04-01T00:00:00", "2026-05-31 00:00 Sun"),  # April has 30 days
        ("0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29 00:00 Tue"),  # leap day
        ("@hourly", "2026-03-01T10:15:00", "2026-03-01 11:00 Sun"),
        ("@daily", "2026-03-01T10:15:00", "2026-03-02 00:00 Mon"),
        ("@midnight", "2026-03-01T10:15:00", "2026-03-02 00:00 Mon"),
        ("@weekly", "2026-03-02T10:15:00", "2026-03-08 00:00 Sun"),
        ("@monthly", "2026-03-02T10:15:00", "2026-04-01 00:00 Wed"),
        ("@yearly", "2026-03-02T10:15:00", "2027-01-01 00:00 Fri"),
        ("@annually", "2026-03-02T10:15:00", "2027-01-01 00:00 Fri"),
        # both day fields restricted: either matches (the 13th, or a Friday)
        ("0 0 13 * FRI", "2026-03-01T00:00:00", "2026-03-06 00:00 Fri"),
        ("0 0 13 * FRI", "2026-03-06T00:00:00", "2026-03-13 00:00 Fri"),
        ("0 0 13 * FRI", "2026-03-13T00:00:00", "2026-03-20 00:00 Fri"),
        # day of week with day of month *: only the weekday
        ("0 0 * * 3", "2026-03-01T00:00:00", "2026-03-04 00:00 Wed"),
    ],
)
def test_next_after(expr: str, after: str, want: str) -> None:
    assert _next(expr, after) == want


def test_time_zone_field_and_prefix() -> None:
    # 09:00 in New York in March 2026 after DST (from 8 March) is 13:00 UTC
    assert _next("0 9 * * *", "2026-03-10T00:00:00", "America/New_York") == "2026-03-10 13:00 Tue"
    assert _next("CRON_TZ=America/New_York 0 9 * * *", "2026-03-01T00:00:00") == (
        "2026-03-01 14:00 Sun"  # before DST: UTC-5
    )
    assert _next("TZ=Europe/Berlin 30 1 * * *", "2026-06-01T00:00:00") == "2026-06-01 23:30 Mon"


def test_a_time_skipped_by_daylight_saving_does_not_run() -> None:
    # 02:30 does not exist in New York on 8 March 2026: the next run is the day after
    assert _next("30 2 * * *", "2026-03-08T05:00:00", "America/New_York") == (
        "2026-03-09 06:30 Mon"
    )


def test_impossible_date_never_runs() -> None:
    assert cron.next_after(cron.parse("0 0 30 2 *"), _t("2026-01-01T00:00:00")) is None


def test_last_due_counts_missed_runs() -> None:
    s = cron.parse("*/10 * * * *")
    latest, count = cron.last_due(s, _t("2026-03-01T10:00:00"), _t("2026-03-01T10:35:00"))
    assert latest == _t("2026-03-01T10:30:00")
    assert count == 3  # 10:10, 10:20, 10:30
    assert cron.last_due(s, _t("2026-03-01T10:30:00"), _t("2026-03-01T10:39:59")) == (None, 0)


@pytest.mark.parametrize(
    ("expr", "zone", "fragment"),
    [
        ("* * * *", None, "has 4 fields"),
        ("60 * * * *", None, "out of range 0-59"),
        ("* 24 * * *", None, "out of range 0-23"),
        ("* * 0 * *", None, "out of range 1-31"),
        ("* * * 13 *", None, "out of range 1-12"),
        ("* * * * 8", None, "out of range 0-7"),
        ("*/0 * * * *", None, "bad step"),
        ("5-1 * * * *", None, "out of range"),
        ("x * * * *", None, "bad minute 'x'"),
        ("* * * FOO *", None, "bad month 'FOO'"),
        ("@every 5m", None, "unknown descriptor"),
        ("* * * * *", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("TZ=UTC * * * * *", "UTC", "spec.timeZone is set too"),
    ],
)
def test_bad_schedules_are_named(expr: str, zone: str | None, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        cron.parse(expr, zone)
    assert fragment in err.value.message
    assert repr(expr) in err.value.message or zone in err.value.message
