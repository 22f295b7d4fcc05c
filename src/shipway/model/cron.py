"""Cron schedules as Kubernetes CronJobs read them: parse, then the next time after a moment.

Pure (no I/O). The five standard fields (minute, hour, day of month, month,
day of week) with ``*``, ``?``, lists, ranges, ``/`` steps and month and
weekday names (``JAN``, ``MON``; day 7 is Sunday too); the descriptors
``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``
and ``@hourly``; a leading ``CRON_TZ=Zone`` or ``TZ=Zone``. As in cron (and
the Go library Kubernetes uses), when both day of month and day of week are
restricted a day matching either one runs. Times are computed in the
schedule's time zone (``spec.timeZone``, else UTC) and returned aware.
Bad input raises ``InputError`` naming the schedule and the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shipway.model.errors import InputError

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
)
_SEARCH_YEARS = 8  # a schedule with no time in 8 years (e.g. 30 February) never runs


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the allowed values of each field, and its zone."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is * (or ?)
    any_weekday: bool
    zone: dt.tzinfo

    def day_matches(self, day: dt.date) -> bool:
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow


def _zone(name: str, text: str) -> dt.tzinfo:
    if name in ("", "UTC", "Etc/UTC"):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"unknown time zone {name!r} in schedule {text!r}", subject="CronJob"
        ) from exc


def _value(token: str, names: dict[str, int], what: str, text: str) -> int:
    if token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        raise InputError(f"bad {what} {token!r} in schedule {text!r}", subject="CronJob")
    return int(token)


def _field(part: str, lo: int, hi: int, names: dict[str, int], what: str, text: str) -> set[int]:
    out: set[int] = set()
    for item in part.split(","):
        rng, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise InputError(f"bad step {item!r} in the {what} of {text!r}", subject="CronJob")
            step = int(step_text)
        if rng in ("*", "?"):
            start, end = lo, hi
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _value(a, names, what, text), _value(b, names, what, text)
        else:
            start = _value(rng, names, what, text)
            end = hi if slash else start
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise InputError(
                f"{what} {item!r} is out of range {lo}-{hi} in schedule {text!r}",
                subject="CronJob",
            )
        out.update(range(start, end + 1, step))
    return out


def parse(text: str, time_zone: str | None = None) -> Schedule:
    """Parse a CronJob ``schedule`` (with ``spec.timeZone``, if any)."""
    body = text.strip()
    zone_name = time_zone or ""
    for prefix in ("CRON_TZ=", "TZ="):
        if body.startswith(prefix):
            if time_zone:
                raise InputError(
                    f"schedule {text!r} names a time zone and spec.timeZone is set too",
                    subject="CronJob",
                )
            zone_name, _, body = body[len(prefix) :].partition(" ")
            body = body.strip()
    if body.startswith("@"):
        if body.lower() not in DESCRIPTORS:
            raise InputError(f"unknown descriptor {body!r} in schedule {text!r}", subject="CronJob")
        body = DESCRIPTORS[body.lower()]
    parts = body.split()
    if len(parts) != 5:
        raise InputError(
            f"schedule {text!r} has {len(parts)} fields; a CronJob schedule has 5 "
            "(minute hour day-of-month month day-of-week)",
            subject="CronJob",
        )
    values = [
        _field(p, lo, hi, n, what, text)
        for p, (what, lo, hi, n) in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = {d % 7 for d in values[4]}
    return Schedule(
        text=text,
        minutes=frozenset(values[0]),
        hours=frozenset(values[1]),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=frozenset(weekdays),
        any_day=parts[2] in ("*", "?"),
        any_weekday=parts[4] in ("*", "?"),
        zone=_zone(zone_name, text),
    )


def next_after(schedule: Schedule, after: dt.datetime) -> dt.datetime | None:
    """The first scheduled time strictly after ``after`` (aware), or None if there is none."""
    local = after.astimezone(schedule.zone).replace(second=0, microsecond=0, tzinfo=None)
    t = local + dt.timedelta(minutes=1)
    limit = t.year + _SEARCH_YEARS
    while t.year <= limit:
        if t.month not in schedule.months:
            t = (t.replace(day=1) + dt.timedelta(days=32)).replace(day=1, hour=0, minute=0)
            continue
        if not schedule.day_matches(t.date()):
            t = (t + dt.timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if t.hour not in schedule.hours:
            t = (t + dt.timedelta(hours=1)).replace(minute=0)
            continue
        if t.minute not in schedule.minutes:
            t += dt.timedelta(minutes=1)
            continue
        aware = t.replace(tzinfo=schedule.zone)
        # a local time skipped by a daylight-saving jump does not exist: skip it
        if aware.astimezone(dt.UTC).astimezone(schedule.zone).replace(tzinfo=None) != t:
            t += dt.timedelta(minutes=1)
            continue
        result = aware.astimezone(dt.UTC)
        if result > after:
            return result
        t += dt.timedelta(minutes=1)
    return None


def last_due(
    schedule: Schedule, since: dt.datetime, now: dt.datetime, *, limit: int = 100_000
) -> tuple[dt.datetime | None, int]:
    """The latest scheduled time in ``(since, now]`` and how many were due in all.

    Counting stops at ``limit``; the time returned is then the latest one found
    by then (Kubernetes also gives up counting missed runs, at 100).
    """
    latest: dt.datetime | None = None
    count = 0
    t = next_after(schedule, since)
    while t is not None and t <= now and count < limit:
        latest, count = t, count + 1
        t = next_after(schedule, t)
    return latest, count
