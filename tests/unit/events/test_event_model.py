"""The event model: aggregation keys and windows, kubectl-style cells, the v1 Event shape."""

from __future__ import annotations

import datetime as dt

import pytest

from shipway.model import events as ev
from shipway.model.errors import InputError

T0 = dt.datetime(2026, 12, 2, 4, 0, 0, tzinfo=dt.UTC)
APP = ev.ObjectRef("Application", "guestbook", "argocd")


def make(reason: str = "SyncFailed", message: str = "boom", at: dt.datetime = T0,
         **kw: object) -> ev.Event:  # fmt: skip
    return ev.Event(APP, reason, message, first=at, **kw)  # type: ignore[arg-type]


def test_repeat_within_the_window_aggregates() -> None:
    first = make()
    assert ev.repeats(first, make(at=T0 + dt.timedelta(minutes=9)))
    assert not ev.repeats(first, make(at=T0 + dt.timedelta(minutes=11)))
    assert not ev.repeats(None, first)


@pytest.mark.parametrize(
    "other",
    [
        {"reason": "SyncSucceeded"},
        {"message": "boom!"},
        {"type": ev.WARNING},
        {"release_id": "r1"},
        {"source": "ci"},
    ],
)
def test_any_stable_field_makes_a_new_event(other: dict[str, str]) -> None:
    base = make()
    changed = make(**other)  # type: ignore[arg-type]
    assert base.key != changed.key
    assert not ev.repeats(base, changed)


def test_the_key_ignores_times_and_count() -> None:
    a = make()
    b = make(at=T0 + dt.timedelta(seconds=5), count=7, seq=9)
    assert a.key == b.key


def test_another_object_is_another_event() -> None:
    a = make()
    b = ev.Event(ev.ObjectRef("Application", "guestbook", "other"), "SyncFailed", "boom", first=T0)
    assert a.key != b.key


def test_type_and_reason_are_checked() -> None:
    with pytest.raises(InputError, match="Normal or Warning"):
        make(type="Error")
    with pytest.raises(InputError, match="reason"):
        make(reason="")


@pytest.mark.parametrize(
    ("seconds", "text"),
    # kubectl's duration.HumanDuration, as its AGE columns and LAST SEEN print it
    [(0, "0s"), (45, "45s"), (90, "90s"), (125, "2m5s"), (5 * 60, "5m"), (5 * 60 + 59, "5m59s"),
     (15 * 60 + 7, "15m"), (3 * 3600, "3h"), (3 * 3600 + 20 * 60, "3h20m"), (10 * 3600, "10h"),
     (2 * 86400 + 5, "2d"), (3 * 86400 + 4 * 3600, "3d4h"), (400 * 86400, "400d"),
     (3 * 365 * 86400 + 86400, "3y1d"), (-3, "0s")],
)  # fmt: skip
def test_short_age(seconds: float, text: str) -> None:
    assert ev.short_age(seconds) == text


def test_last_seen_shows_repeats_as_kubectl() -> None:
    e = make(count=3, last=T0 + dt.timedelta(minutes=2))
    assert ev.last_seen(e, T0 + dt.timedelta(minutes=7)) == "5m (x3 over 7m)"
    assert ev.last_seen(make(), T0 + dt.timedelta(seconds=45)) == "45s"


def test_object_cell_lowercases_the_kind() -> None:
    assert ev.object_ref(make()) == "application/guestbook"
    assert ev.object_ref(ev.Event(ev.ObjectRef("", "repo"), "GitPush", first=T0)) == "repo"


def test_v1_event_shape() -> None:
    e = make(type=ev.WARNING, release_id="rel1", source="reconciler", count=2, seq=12, id=31,
             last=T0 + dt.timedelta(seconds=90))  # fmt: skip
    d = e.to_dict()
    assert d["apiVersion"] == "v1" and d["kind"] == "Event"
    assert d["metadata"] == {"name": "guestbook.1f", "resourceVersion": "12",
                             "creationTimestamp": "2026-12-02T04:00:00Z",
                             "namespace": "argocd"}  # fmt: skip
    assert d["involvedObject"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                                   "name": "guestbook", "namespace": "argocd"}  # fmt: skip
    assert d["firstTimestamp"] == "2026-12-02T04:00:00Z"
    assert d["lastTimestamp"] == "2026-12-02T04:01:30Z"
    assert d["eventTime"] == "2026-12-02T04:00:00.000000Z"
    assert (d["count"], d["type"], d["releaseId"]) == (2, "Warning", "rel1")
    assert d["source"] == {"component": "reconciler"}
    listing = ev.event_list([e])
    assert listing["kind"] == "EventList" and listing["metadata"]["resourceVersion"] == "12"


def test_naive_times_are_utc() -> None:
    e = ev.Event(APP, "X", first=dt.datetime(2026, 1, 1, 12, 0))
    assert e.to_dict()["firstTimestamp"] == "2026-01-01T12:00:00Z"
    offset = dt.datetime(2026, 1, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert ev.rfc3339(offset) == "2026-01-01T12:00:00Z"


def test_parse_for() -> None:
    assert ev.parse_for("app/guestbook") == ("Application", "guestbook")
    assert ev.parse_for("Application/guestbook") == ("Application", "guestbook")
    for bad in ("guestbook", "app/", "/x"):
        with pytest.raises(InputError, match="KIND/NAME"):
            ev.parse_for(bad)


def test_older_subjects() -> None:
    assert ev.from_subject("deploy", "Application/web") == ev.ObjectRef("Application", "web")
    assert ev.from_subject("ci", "0123abcd/build").kind == "CIRun"
    repo = ev.from_subject("controller", "git://127.0.0.1:9/app.git")
    assert (repo.kind, repo.name) == ("Repository", "git://127.0.0.1:9/app.git")


def test_stored_starts_are_rfc3339_and_read_back_exactly() -> None:
    t = 1764849600.123456  # 2025-12-04T12:00:00.123456Z
    assert ev.stamp(t) == "2025-12-04T12:00:00.123456Z"
    got = ev.epoch_of(ev.stamp(t))
    assert got is not None and abs(got - t) < 1e-6
    assert ev.epoch_of(t) == t  # a state stored before (epoch seconds) still resumes
    assert ev.epoch_of(None) is None and ev.epoch_of("") is None
