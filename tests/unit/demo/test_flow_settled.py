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
