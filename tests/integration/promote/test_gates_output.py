"""``-o`` of ``approve``, ``promotion abort``, ``refresh stage`` and ``stage verify``:
``-o name`` prints ``kind/name`` of the object acted on, ``-o json|yaml`` that object as
stored, the table the command's own line."""

from __future__ import annotations

import json

import pytest
import yaml
from verify_helpers import Health, add_freight, docs, setup

from cli_runner import run
from shipway.promote import runner
from shipway.promote import start as start_mod
from shipway.settings import Settings
from shipway.store.db import Store

pytestmark = pytest.mark.integration


def test_approve_abort_and_refresh_print_the_object(
    store: Store, health: Health, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(store, docs(health.url))
    f1 = add_freight(store, "1.0.0")
    code, got, _ = run(["approve", "-n", "demo", "--freight", "v1-0-0", "--stage", "uat",
                        "-o", "json"], capsys)  # fmt: skip
    data = json.loads(got)
    assert (code, data["kind"], data["metadata"]["name"]) == (0, "Freight", f1)
    assert "uat" in data["status"]["approvedFor"]
    code, got, _ = run(["approve", "-n", "demo", "--freight", f1, "--stage", "uat", "-o",
                        "name"], capsys)  # fmt: skip
    assert (code, got) == (0, f"freight/{f1}\n")

    started = start_mod.start(store, project="demo", stage="test", freight=f1, actor="alice")
    code, got, _ = run(["promotion", "abort", "-n", "demo", started.name, "-o", "yaml"], capsys)
    data = yaml.safe_load(got)
    assert (code, data["kind"], data["status"]["phase"]) == (0, "Promotion", "Aborted")
    again = start_mod.start(store, project="demo", stage="test", freight=f1, actor="alice")
    code, got, _ = run(["promotion", "abort", "-n", "demo", again.name, "-o", "name"], capsys)
    assert (code, got) == (0, f"promotion/{again.name}\n")

    code, got, _ = run(["refresh", "stage", "-n", "demo", "test", "-o", "name"], capsys)
    assert (code, got) == (0, "stage/test\n")
    code, got, _ = run(["refresh", "stage", "-n", "demo", "test", "-o",
                        "jsonpath={.status.lastHandledRefresh}"], capsys)  # fmt: skip
    assert code == 0 and got
    code, got, _ = run(["refresh", "stage", "-n", "demo", "test"], capsys)
    assert code == 0 and got.startswith("stage/test refreshed")


def test_stage_verify_prints_the_analysis_run(
    store: Store, health: Health, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(store, docs(health.url))
    f1 = add_freight(store, "1.0.0")
    code, got, _ = run(["stage", "verify", "-n", "uat", "uat", "-o", "name"], capsys)
    assert code != 0 and got == ""  # no such stage in project uat
    started = start_mod.start(store, project="demo", stage="test", freight=f1, actor="alice")
    assert runner.run(store, Settings(), started.key)["phase"] == "Succeeded"
    code, got, _ = run(["stage", "verify", "-n", "demo", "test", "-o", "name"], capsys)
    assert code == 0 and got.startswith("analysisrun/"), got
    code, got, _ = run(["stage", "verify", "-n", "demo", "test", "--wait", "--timeout", "60",
                        "-o", "json"], capsys)  # fmt: skip
    data = json.loads(got)
    assert (code, data["kind"], data["status"]["phase"]) == (0, "AnalysisRun", "Successful")
