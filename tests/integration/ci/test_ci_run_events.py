"""A CI run emits RunStarted, then RunSucceeded or RunFailed (a Warning), about its CIRun."""

from __future__ import annotations

from typing import Any

import pytest

from shipway.store import events as store_events
from shipway.store.db import Store

pytestmark = pytest.mark.integration

OK = """\
on: push
jobs:
  t: {runs-on: x, steps: [{run: echo fine}]}
"""
BAD = """\
on: push
jobs:
  t: {runs-on: x, steps: [{run: exit 3}]}
"""


def test_run_events(run_wf: Any, store: Store) -> None:
    good, _ = run_wf(OK, pipeline="web")
    bad, _ = run_wf(BAD)
    found = store_events.query(store, kind="CIRun")
    by_run: dict[str, list[tuple[str, str]]] = {}
    for e in found:
        by_run.setdefault(e.involved.name, []).append((e.reason, e.type))
    assert by_run[good["id"]] == [("RunStarted", "Normal"), ("RunSucceeded", "Normal")]
    assert by_run[bad["id"]] == [("RunStarted", "Normal"), ("RunFailed", "Warning")]
    ok_events = [e for e in found if e.involved.name == good["id"]]
    assert {e.involved.namespace for e in ok_events} == {"web"}  # the Pipeline
    assert all(e.source == "ci" for e in found)
    assert "failure" in next(e for e in found if e.reason == "RunFailed").message
