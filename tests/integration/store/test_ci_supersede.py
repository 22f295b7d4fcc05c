"""GitLab's redundant pipelines on the concurrency groups' rows: two stores on one SQLite file.

A newer entrant runs at once (never pending) and asks the older ones of other
commits to give way; the asked one sees the ask on its heartbeat and who asked,
even after the asker left; an entrant of the same commit is spared.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shipway.ci import concurrency
from shipway.settings import Settings
from shipway.store import ci_coord
from shipway.store.db import open_store

pytestmark = pytest.mark.integration


def test_a_newer_entrant_asks_the_older_one_across_stores(tmp_path: Path) -> None:
    one, two = (open_store(Settings(home=tmp_path)) for _ in range(2))
    try:
        group = "gitlab/app/refs/heads/main"
        told: list[str] = []
        heard = threading.Event()

        def on_asked(by: str) -> None:
            told.append(by)
            heard.set()

        def by_sha(sha: str):  # type: ignore[no-untyped-def]
            return lambda holder: holder.split("#")[0].endswith(f"@{sha}")

        with concurrency.superseding(one, group, "r1@aaa", by_sha("aaa"), on_asked) as asked:
            assert asked == []
            same, spared = ci_coord.supersede(two, group, "r2@aaa#x", by_sha("aaa"))
            assert spared == []  # a pipeline of the same commit asks nobody
            newer, asked = ci_coord.supersede(two, group, "r3@bbb#y", by_sha("bbb"))
            assert [h.split("#")[0] for h in asked] == ["r1@aaa", "r2@aaa"]
            states = {h["holder"].split(" ")[0]: h["state"] for h in ci_coord.holders(two, group)}
            assert set(states.values()) == {"running"}  # the newer one never waits
            ci_coord.leave(two, newer)  # the asker may end before the asked one's next beat
            assert heard.wait(10)
        assert told == ["r3@bbb#y"]
        assert ci_coord.asked_by(two, same) == "r3@bbb#y"
        assert ci_coord.asked_by(two, newer) is None
        ci_coord.leave(two, same)
        assert ci_coord.holders(one, group) == []
    finally:
        one.close()
        two.close()
