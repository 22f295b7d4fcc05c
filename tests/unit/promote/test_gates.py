"""Soak, availability, promotion windows, approval policies and auto-promotion choice (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shipway.model.kargo_project import PromotionWindow
from shipway.model.kargo_stage import FreightRequest, StageSpec
from shipway.promote import autopolicy, gates

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


def req(**sources: Any) -> FreightRequest:
    return FreightRequest.model_validate({"origin": {"kind": "Warehouse", "name": "web"},
                                          "sources": sources})  # fmt: skip


def ago(minutes: float) -> str:
    return (NOW - dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_go_duration() -> None:
    assert [gates.go_duration(s) for s in (0, 59, 61, 3723)] == ["0s", "59s", "1m1s", "1h2m3s"]


def test_soak_is_the_longer_of_completed_and_current_stay() -> None:
    status = {"verifiedIn": {"test": {"longestSoak": "10m0s"}},
              "currentlyIn": {"test": {"since": ago(4)}}}  # fmt: skip
    assert gates.soaked(status, "test", NOW) == 600
    status["currentlyIn"]["test"]["since"] = ago(30)
    assert gates.soaked(status, "test", NOW) == 1800


def test_availability_soak_remaining_and_approval() -> None:
    r = req(stages=["test"], requiredSoakTime="1h")
    status: dict[str, Any] = {
        "verifiedIn": {"test": {}},
        "currentlyIn": {"test": {"since": ago(45)}},
    }
    a = gates.availability(r, "uat", status, NOW)
    assert not a.ok and a.soak_remaining == 900
    assert a.reason == "soaking in stage test: 15m0s of 1h left"
    assert gates.availability(r, "uat", {}, NOW).reason == "not verified in stage test"
    assert gates.availability(r, "uat", {"approvedFor": {"uat": {}}}, NOW).ok
    status["currentlyIn"]["test"]["since"] = ago(61)
    assert gates.availability(r, "uat", status, NOW).ok
    assert gates.availability(req(direct=True), "test", {}, NOW).ok


def test_availability_one_of_and_all() -> None:
    status = {"verifiedIn": {"a": {}}}
    assert gates.availability(req(stages=["a", "b"]), "c", status, NOW).ok
    both = req(stages=["a", "b"], availabilityStrategy="All")
    got = gates.availability(both, "c", status, NOW)
    assert not got.ok and got.reason == "not verified in stage b"
    assert gates.availability(both, "c", {"verifiedIn": {"a": {}, "b": {}}}, NOW).ok


def window(**kw: Any) -> PromotionWindow:
    return PromotionWindow.model_validate({"name": "w", **kw})


def test_deny_window_weekly_rrule() -> None:
    # Thursdays 08:00-10:00 UTC; NOW is Thursday 2026-12-03 08:00
    deny = window(kind="Deny", rrule="FREQ=WEEKLY;BYDAY=TH", dtstart="20260101T080000Z",
                  dtend="20260101T100000Z")  # fmt: skip
    state = gates.window_state([deny], "prod", {}, NOW)
    assert not state.open and state.reason == "deny window w is open until 2026-12-03T10:00:00Z"
    assert gates.window_state([deny], "prod", {}, NOW + dt.timedelta(hours=2)).open


def test_allow_window_names_the_next_opening_and_selectors() -> None:
    allow = window(kind="Allow", rrule="FREQ=DAILY", dtstart="20260101T120000Z",
                   dtend="20260101T130000Z", stageSelector={"name": "glob:prod*"})  # fmt: skip
    state = gates.window_state([allow], "prod-eu", {}, NOW)
    assert not state.open
    assert state.next_open == dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    assert state.reason.endswith("next opens at 2026-12-03T12:00:00Z")
    assert gates.window_state([allow], "prod-eu", {}, NOW.replace(hour=12, minute=30)).open
    assert gates.window_state([allow], "test", {}, NOW).open  # not selected


def test_window_in_a_time_zone() -> None:
    # 09:00-10:00 Paris is 08:00-09:00 UTC in December
    deny = window(kind="Deny", rrule="FREQ=DAILY", dtstart="TZID=Europe/Paris:20260101T090000",
                  dtend="TZID=Europe/Paris:20260101T100000")  # fmt: skip
    assert not gates.window_state([deny], "x", {}, NOW).open
    assert gates.window_state([deny], "x", {}, NOW.replace(hour=9, minute=1)).open


def test_window_status_is_kargos_promotion_window_status() -> None:
    deny = window(name="freeze", kind="Deny", rrule="FREQ=WEEKLY;BYDAY=TH",
                  dtstart="20260101T080000Z", dtend="20260101T100000Z")  # fmt: skip
    allow = window(name="office", kind="Allow", rrule="FREQ=DAILY", dtstart="20260101T070000Z",
                   dtend="20260101T170000Z", stageSelector={"name": "prod"})  # fmt: skip
    # Thursday 08:00: the deny window is open; the refusal's reason, when it reopens
    assert gates.window_status([deny, allow], "prod", {}, NOW) == {
        "closed": True, "reason": "deny window freeze is open until 2026-12-03T10:00:00Z",
        "nextOpen": "2026-12-03T10:00:00Z"}  # fmt: skip
    # 11:00: open inside the allow window, which ends at 17:00; the freeze is a week away
    at11 = NOW.replace(hour=11)
    assert gates.window_status([deny, allow], "prod", {}, at11) == {
        "closed": False, "nextClose": "2026-12-03T17:00:00Z",
        "nextCloseReason": "allow window office ends"}  # fmt: skip
    # a stage only the deny window selects: open, closing when the next freeze starts
    assert gates.window_status([deny, allow], "test", {}, at11) == {
        "closed": False, "nextClose": "2026-12-10T08:00:00Z",
        "nextCloseReason": "deny window freeze opens"}  # fmt: skip
    # 18:00: outside the only allow window (the deny one selects no other stage here)
    closed = gates.window_status([allow], "prod", {}, NOW.replace(hour=18))
    assert closed == {"closed": True, "nextOpen": "2026-12-04T07:00:00Z",
                      "reason": "outside the allow window(s) office; next opens at "
                                "2026-12-04T07:00:00Z"}  # fmt: skip
    # no window selects the stage: no status (Kargo writes none either)
    assert gates.window_status([allow], "test", {}, NOW) is None
    # a one-shot allow window that has passed: closed with no known reopening
    once = window(kind="Allow", dtstart="20260101T000000Z", dtend="20260102T000000Z")
    assert gates.window_status([once], "x", {}, NOW) == {
        "closed": True,
        "reason": "outside the allow window(s) w; none opens again",
    }


def test_approval_policy_roles_self_and_twice() -> None:
    pol = gates.ApprovalPolicy.from_annotations(
        {gates.APPROVALS_REQUIRED: "2", gates.APPROVER_ROLES: "role:release"}
    )
    assert pol == gates.ApprovalPolicy(2, ("role:release",), False)
    makers = gates.authors({"commits": [{"author": "Ann Dev <ann@x.org>"}]}, ["bob"])
    assert makers == {"ann dev", "ann@x.org", "bob"}
    assert gates.approval_problems(pol, "carol", {"role:release"}, makers, []) == []
    assert (
        "none of the approver roles" in gates.approval_problems(pol, "carol", set(), makers, [])[0]
    )
    assert (
        "may not approve it"
        in gates.approval_problems(pol, "ann@x.org", {"role:release"}, makers, [])[0]
    )
    assert (
        "already approved"
        in gates.approval_problems(pol, "carol", {"role:release"}, makers, ["carol"])[0]
    )
    assert gates.ApprovalPolicy.from_annotations({}) is None
    with pytest.raises(ValueError, match="not a count"):
        gates.ApprovalPolicy.from_annotations({gates.APPROVALS_REQUIRED: "zero"})


def _stage(**sources: Any) -> StageSpec:
    return StageSpec.model_validate(
        {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "web"}, "sources": sources}]}
    )


def _f(name: str, minutes_ago: float, status: dict[str, Any] | None = None) -> Any:
    return autopolicy.FreightInfo(
        name,
        {"origin": {"kind": "Warehouse", "name": "web"}},
        status or {},
        NOW - dt.timedelta(minutes=minutes_ago),
    )


def _holding(name: str) -> dict[str, Any]:
    return {"freightHistory": [{"items": {"Warehouse/web": {"name": name}}}]}


def test_choose_newest_available_and_skip_current() -> None:
    spec = _stage(direct=True)
    got = autopolicy.choose("test", spec, {}, [_f("old", 10), _f("new", 1)], NOW)
    assert got[0].freight == "new"
    got = autopolicy.choose("test", spec, _holding("new"), [_f("old", 10), _f("new", 1)], NOW)
    assert got[0].freight is None and "already holds" in got[0].reason


def test_choose_upstream_verified_and_soaked() -> None:
    spec = _stage(stages=["test"], requiredSoakTime="30m")
    soaking = {"verifiedIn": {"test": {}}, "currentlyIn": {"test": {"since": ago(5)}}}
    done = {"verifiedIn": {"test": {"longestSoak": "1h0m0s"}}}
    got = autopolicy.choose("uat", spec, {}, [_f("a", 90, done), _f("b", 6, soaking)], NOW)
    assert got[0].freight == "a"


def test_choose_respects_a_hold_until_newer_freight() -> None:
    spec = _stage(direct=True)
    status = {**_holding("good"), "autoPromotionHolds": {"Warehouse/web": {
        "freightName": "bad", "reason": "Rollback", "createdAt": ago(2)}}}  # fmt: skip
    pool = [_f("good", 20), _f("bad", 10)]
    got = autopolicy.choose("test", spec, status, pool, NOW)
    assert got[0].freight is None and "held: Rollback on Freight bad" in got[0].reason
    got = autopolicy.choose("test", spec, status, [*pool, _f("fixed", 1)], NOW)
    assert got[0].freight == "fixed" and got[0].lifts_hold


def test_choose_match_upstream() -> None:
    spec = _stage(stages=["test"], autoPromotionOptions={"selectionPolicy": "MatchUpstream"})
    pool = [_f("a", 20, {"currentlyIn": {"test": {}}, "verifiedIn": {"test": {}}}), _f("b", 1)]
    assert autopolicy.choose("uat", spec, {}, pool, NOW)[0].freight == "a"
