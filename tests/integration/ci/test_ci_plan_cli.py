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
    assert [v["file"] for v in json.loads(every.output)["items"]] == [
        ".github/workflows/build.yml",
        ".github/workflows/review.yml",
    ]
    pushed = runner.invoke(cli, ["ci", "plan", "--event", "push", "-o", "json"])
    push = json.loads(pushed.output)["items"]
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


GITLAB = """\
stages: [build, deploy]
build: {stage: build, script: [make]}
deploy: {stage: deploy, script: [ship], rules: [{if: '$CI_COMMIT_BRANCH == "main"'}]}
"""
TEKTON = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
    - name: a
      taskSpec: {steps: [{name: s, image: busybox, script: "true"}]}
    - name: b
      runAfter: [a]
      when: [{input: x, operator: in, values: [x]}]
      taskSpec: {steps: [{name: s, image: busybox, script: "true"}]}
"""


def test_plan_prints_the_neutral_plan_of_gitlab_and_tekton(
    tmp_path: Path, shipway_home: Path, new_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    new_repo(src, {".gitlab-ci.yml": GITLAB, "p.yaml": TEKTON})
    monkeypatch.chdir(src)
    runner = CliRunner()
    got = runner.invoke(cli, ["ci", "plan", "-o", "json"])
    assert got.exit_code == 0, got.output
    [plan] = json.loads(got.output)["items"]
    assert plan["syntax"] == "gitlab"
    nodes = {n["id"]: n for n in plan["nodes"]}
    assert nodes["deploy"]["needs"] == [{"node": "build", "kind": "stage"}]
    assert nodes["deploy"]["condition"]["expr"] == '$CI_COMMIT_BRANCH == "main"'
    assert nodes["build"]["where"] == ".gitlab-ci.yml:2:1"
    table = runner.invoke(cli, ["ci", "plan", "-f", "p.yaml"])
    assert table.exit_code == 0, table.output
    assert "runAfter" not in table.output and "b " in table.output
    tk = json.loads(runner.invoke(cli, ["ci", "plan", "-f", "p.yaml", "-o", "json"]).output)
    tk = tk["items"]
    assert [n["id"] for n in tk[0]["nodes"]] == ["a", "b"]
    assert tk[0]["nodes"][1]["needs"] == [{"node": "a", "kind": "runAfter"}]
    assert tk[0]["nodes"][1]["condition"]["evaluator"] == "tekton"
    (src / "p.yaml").write_text(TEKTON.replace("runAfter", "runafter"))
    shipway = str(Path(sys.executable).parent / "shipway")
    bad = subprocess.run([shipway, "ci", "plan", "-f", "p.yaml"], capture_output=True, text=True,
                         check=False)  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    assert "p.yaml:9:" in bad.stderr and "runafter" in bad.stderr
    assert "Traceback" not in bad.stderr
