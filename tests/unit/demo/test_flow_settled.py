"""What the demo concludes a stage did with a Freight, from the Freight's journey entries."""

from __future__ import annotations

from typing import Any

from shipway.demo.flow import _settled


def e(stage: str, kind: str, phase: str, **more: Any) -> dict[str, Any]:
    return {"stage": stage, "kind": kind, "phase": phase, **more}


def test_under_way_until_verified() -> None:
    entries = [e("test", "promotion", "Pending"), e("test", "promotion", "Succeeded")]
    assert _settled(entries, "test", rollback=True) == ""
    entries.append(e("test", "verification", "Successful"))
    assert _settled(entries, "test", rollback=True) == "verified"
    assert _settled(entries, "uat", rollback=True) == ""  # another stage's entries do not count


def test_a_failed_verification_waits_for_the_rollback_when_one_is_configured() -> None:
    entries = [e("test", "promotion", "Succeeded"), e("test", "verification", "Failed")]
    assert _settled(entries, "test", rollback=False) == "failed"
    assert _settled(entries, "test", rollback=True) == ""
    entries.append(e("test", "rollback", "Started", to="good"))
    assert _settled(entries, "test", rollback=True) == ""
    entries.append(e("test", "rollback", "Succeeded", to="good"))
    assert _settled(entries, "test", rollback=True) == "rolled-back"
    impossible = [e("uat", "verification", "Failed"), e("uat", "rollback", "Impossible")]
    assert _settled(impossible, "uat", rollback=True) == "rolled-back"


def test_inconclusive_waits_for_a_person_and_a_failed_promotion_ends_it() -> None:
    assert _settled([e("uat", "verification", "Inconclusive")], "uat", True) == "inconclusive"
    assert _settled([e("uat", "promotion", "Errored")], "uat", True) == "failed"
    # a rollback promotion recorded on the Freight it restores is not this Freight failing
    assert _settled([e("uat", "promotion", "Failed", rollbackOf="bad")], "uat", True) == ""


def test_the_timeline_names_each_stage_what_it_holds_and_the_prod_command() -> None:
    from shipway.demo.flow import Flow, StageView, timeline

    test = StageView("test", lines=["2026-12-03T10:00:01Z  promoted   keen-ocelot"],
                     result="verified", outcome="Freight keen-ocelot verified",
                     holds="ee8e", holds_alias="keen-ocelot")  # fmt: skip
    prod = StageView("prod", result="waiting", outcome="waits for a person")
    flow = Flow(
        {"name": "ee8e", "alias": "keen-ocelot", "project": "hello"},
        [test, prod],
        [],
        "shipway promote --project hello --freight keen-ocelot --stage prod --wait",
    )
    assert timeline(flow).splitlines() == [
        "freight keen-ocelot (ee8e) of project hello",
        "  stage test (holds keen-ocelot): Freight keen-ocelot verified",
        "    2026-12-03T10:00:01Z  promoted   keen-ocelot",
        "  stage prod (holds nothing): waits for a person",
        "  promote it to prod:  shipway promote --project hello --freight keen-ocelot --stage "
        "prod --wait",
    ]
    assert flow.to_dict()["stages"][0]["holdsAlias"] == "keen-ocelot"
