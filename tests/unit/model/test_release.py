"""Release record stage transitions."""

from __future__ import annotations

import datetime as dt

from shipway.model.release import STAGES, Release


def _t(seconds: float) -> dt.datetime:
    return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def test_all_stages_succeeding_completes_the_release() -> None:
    rel = Release(id="r1", app="a", commit="c", created=_t(0))
    for i, name in enumerate(STAGES):
        rel.start(name, _t(i))
        assert rel.status == "Running"
        rel.finish(name, True, at=_t(i + 0.5))
    assert rel.status == "Succeeded"
    assert rel.finished == _t(len(STAGES) - 0.5)
    assert rel.to_dict()["stages"][0]["seconds"] == 0.5


def test_failure_names_the_stage_and_skips_the_rest() -> None:
    rel = Release(id="r2", app="a", commit="c")
    rel.start("ci")
    rel.finish("ci", False, "tests failed")
    assert rel.status == "Failed"
    assert rel.failed_stage == "ci"
    assert "stage ci failed: tests failed" in rel.message
    assert {s.status for s in rel.stages[1:]} == {"Skipped"}


def test_round_trip_through_dict() -> None:
    rel = Release(id="r3", app="a", commit="c", image="reg/x@sha256:" + "0" * 64)
    rel.start("ci", _t(1))
    again = Release.from_dict(rel.to_dict())
    assert again.to_dict() == rel.to_dict()


def test_to_dict_keeps_every_field_and_round_trips() -> None:
    """A field added to Release must reach its record (to_dict lists the fields by hand)."""
    import dataclasses

    freight = {"project": "p", "name": "f", "alias": "a", "warehouse": "w"}
    rel = Release(id="r1", app="web", commit="c" * 40, security={"policy": {"ok": True}},
                  freight=freight)  # fmt: skip
    data = rel.to_dict()
    assert {f.name for f in dataclasses.fields(Release)} <= set(data)
    again = Release.from_dict(data)
    assert again.to_dict() == data
