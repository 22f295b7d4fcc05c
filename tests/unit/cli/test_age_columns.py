"""``account list`` and ``ci approvals``: the table's AGE is kubectl's short duration, the
machine formats keep the RFC 3339 time."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from cli_runner import run
from shipway.settings import Settings
from shipway.store import ci_coord
from shipway.store.db import open_store

AGE = re.compile(r"^\d+[smhdy](\d+[smh])?$")


def _cells(table: str, column: str) -> list[str]:
    heads, *rows = table.splitlines()
    at = heads.index(column)
    return [row[at:].split()[0] for row in rows]


def _recent(stamp: str) -> bool:
    when = dt.datetime.fromisoformat(stamp)
    return stamp.endswith("Z") and abs((dt.datetime.now(dt.UTC) - when).total_seconds()) < 600


def test_account_list_ages(shipway_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["account", "create", "bob", "--no-password"], capsys)[0] == 0
    code, got, _ = run(["account", "list"], capsys)
    assert code == 0 and "CREATED" not in got
    ages = _cells(got, "AGE")
    assert len(ages) == 1 and AGE.match(ages[0]), got
    code, got, _ = run(["account", "list", "-o", "json"], capsys)
    assert _recent(json.loads(got)["items"][0]["created"])


def test_ci_approvals_ages(shipway_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(Settings())
    try:
        assert ci_coord.request_approval(store, "run-1", "deploy", "production",
                                         reviewers=["ann"]) == "waiting"  # fmt: skip
    finally:
        store.close()
    code, got, _ = run(["ci", "approvals"], capsys)
    assert code == 0 and "SINCE" not in got
    ages = _cells(got, "AGE")
    assert len(ages) == 1 and AGE.match(ages[0]), got
    code, got, _ = run(["ci", "approvals", "-o", "json"], capsys)
    assert _recent(json.loads(got)["items"][0]["since"])
