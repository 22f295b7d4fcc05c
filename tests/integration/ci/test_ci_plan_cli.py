"""``shipway ci plan`` in a real git checkout: jobs by stage, event filtering, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shipway.cli.main import cli

pytestmark = pytest.mark.integration

BUILD = """\
on: {push: {branches: [main]}}
jobs:
  build:
    runs-on: ubuntu-latest
    strategy: {matrix: {py: ["3.11", "3.12"]}}
    steps: [{run: make}]
  ship:
    needs: build
    runs-on: ubuntu-latest
    steps: [{run: make ship}]
"""
REVIEW = """\
on: pull_request
jobs:
  review: {runs-on: ubuntu-latest, steps: [{run: "true"}]}
"""


def test_plan_lists_jobs_and_filters_by_event(
    tmp_path: Path, shipway_home: Path, new_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    new_repo(src, {".github/workflows/build.yml": BUILD, ".github/workflows/review.yml": REVIEW})
    monkeypatch.chdir(src)
    runner = CliRunner()

    every = runner.invoke(cli, ["ci", "plan", "-o", "json"])
    assert every.exit_code == 0, every.output
    assert [v["file"] for v in json.loads(every.output)] == [
        ".github/workflows/build.yml",
        ".github/workflows/review.yml",
    ]
    push = json.loads(runner.invoke(cli, ["ci", "plan", "--event", "push", "-o", "json"]).output)
    assert [(j["id"], j["stage"], len(j["combinations"] or [None])) for j in push[0]["jobs"]] == [
        ("build", 0, 2),
        ("ship", 1, 1),
    ]
    assert len(push) == 1
    table = runner.invoke(cli, ["ci", "plan", "--event", "pull_request"])
    assert "review" in table.output and "build" not in table.output

    (src / ".github/workflows/review.yml").write_text(REVIEW.replace("runs-on", "runs_on"))
    shipway = str(Path(sys.executable).parent / "shipway")
    bad = subprocess.run([shipway, "ci", "plan"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2, bad.stderr
    assert "error: .github/workflows/review.yml:3:" in bad.stderr
    assert "unknown key 'runs_on'" in bad.stderr and "Traceback" not in bad.stderr
