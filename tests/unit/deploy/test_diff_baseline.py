"""The benchmark's baseline switch: the pre-three-way comparison, and back."""

from __future__ import annotations

from shipway.deploy import diff

LIVE = {"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n", "labels": {"old": "x"}},
        "data": {"a": "1"}}  # fmt: skip
DESIRED = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
           "data": {"a": "1"}}  # fmt: skip
LAST = {**DESIRED, "metadata": {**LIVE["metadata"]}}


def test_baseline_misses_a_removal_that_three_way_finds() -> None:
    assert diff.compare(DESIRED, LIVE, last_applied=LAST).status == diff.OUT_OF_SYNC
    diff.set_three_way(False)
    try:
        assert diff.compare(DESIRED, LIVE, last_applied=LAST).status == diff.SYNCED
        changed = {**DESIRED, "data": {"a": "2"}}
        got = diff.compare(changed, LIVE, last_applied=LAST)
        assert got.status == diff.OUT_OF_SYNC and "+  a: '2'" in got.text
    finally:
        diff.set_three_way(True)
    assert diff.compare(DESIRED, LIVE, last_applied=LAST).status == diff.OUT_OF_SYNC
