"""Shared ls-remote look-ups: never an answer older than the question, few calls in a burst."""

from __future__ import annotations

import threading
import time

import pytest

from shipway.controller.tips import Tips, is_tip
from shipway.model.errors import GitError


def test_is_tip_knows_annotated_tags() -> None:
    refs = {"refs/heads/main": "a" * 40, "refs/tags/v1": "b" * 40, "refs/tags/v1^{}": "c" * 40}
    assert is_tip(refs, "refs/heads/main", "a" * 40)
    assert is_tip(refs, "refs/tags/v1", "b" * 40) and is_tip(refs, "refs/tags/v1", "c" * 40)
    assert not is_tip(refs, "refs/heads/main", "c" * 40)
    assert not is_tip(refs, "refs/heads/nope", "")


def test_a_burst_shares_lookups_that_start_after_each_caller() -> None:
    state = {"tip": "old"}
    starts: list[float] = []
    gate = threading.Event()

    def lookup(url: str) -> dict[str, str]:
        starts.append(time.monotonic())
        seen = state["tip"]
        gate.wait(5)
        return {"refs/heads/main": seen}

    tips = Tips(lookup=lookup)
    results: dict[int, str] = {}
    first = threading.Thread(
        target=lambda: results.__setitem__(0, tips.refs("u")["refs/heads/main"])
    )
    first.start()
    while not starts:
        time.sleep(0.001)
    state["tip"] = "new"  # the push lands while the first look-up is under way
    asked = time.monotonic()
    later = [
        threading.Thread(
            target=lambda n=n: results.__setitem__(n, tips.refs("u")["refs/heads/main"])
        )
        for n in range(1, 40)
    ]
    for t in later:
        t.start()
    time.sleep(0.05)
    gate.set()
    first.join()
    for t in later:
        t.join()
    assert results[0] == "old"
    assert all(results[n] == "new" for n in range(1, 40))  # none got the earlier answer
    assert tips.lookups == 2
    assert starts[1] >= asked


def test_a_failed_lookup_fails_its_waiters_and_the_next_one_asks_again() -> None:
    calls = []

    def lookup(url: str) -> dict[str, str]:
        calls.append(url)
        if len(calls) == 1:
            raise OSError("server gone")
        return {"refs/heads/main": "x"}

    tips = Tips(lookup=lookup)
    with pytest.raises(GitError, match="server gone"):
        tips.refs("u")
    assert tips.refs("u") == {"refs/heads/main": "x"}
