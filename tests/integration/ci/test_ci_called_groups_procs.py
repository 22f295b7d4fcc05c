"""Groups and reviews around reusable workflows, across ``shipway ci run`` processes.

A job-level ``cancel-in-progress`` group cancels the steps of the job that
holds it in another process; a called workflow's own group is held by the
calling job across processes, so a newer run with ``cancel-in-progress``
cancels the called jobs of the older; a called workflow's job waiting for a
review shows as waiting under its calling job in the stored run. SQLite store
in one SHIPWAY_HOME.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ci_procs import Shared, log_has, make_checkout, record, wait_for

JOB_LEVEL = """\
on: push
jobs:
  deploy:
    runs-on: x
    concurrency: {group: "job-${{ vars.GROUP }}", cancel-in-progress: true}
    steps:
      - run: |
          echo "holding as ${{ vars.NAME }}"
          while [ ! -e "${{ vars.GATE }}" ]; do sleep 0.1; done
"""

CALLER = """\
on: push
jobs:
  call:
    uses: ./.github/workflows/deploy.yml
    with: {group: "${{ vars.GROUP }}", name: "${{ vars.NAME }}", gate: "${{ vars.GATE }}"}
"""

CALLED = """\
on:
  workflow_call:
    inputs:
      group: {type: string}
      name: {type: string}
      gate: {type: string}
concurrency: {group: "called-${{ inputs.group }}", cancel-in-progress: true}
jobs:
  deploy:
    runs-on: x
    steps:
      - run: |
          echo "holding as ${{ inputs.name }}"
          while [ ! -e "${{ inputs.gate }}" ]; do sleep 0.1; done
"""


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Shared]:
    s = Shared(home=tmp_path / "home")
    s.store().close()  # the schema first: two processes must not both create it
    try:
        yield s
    finally:
        s.stop_all()


def _start(shared: Shared, cwd: Path, name: str, group: str, gate: Path, tmp: Path) -> Any:
    return shared.start(cwd, "run", "--var", f"NAME={name}", "--var", f"GROUP={group}",
                        "--var", f"GATE={gate}", log=tmp / f"{name}.log")  # fmt: skip


@pytest.mark.parametrize("called", [False, True])
def test_a_newer_run_cancels_the_holder_in_another_process(
    shared: Shared, tmp_path: Path, called: bool
) -> None:
    files = {".github/workflows/deploy.yml": CALLED} if called else {}
    cwd = make_checkout(tmp_path / "src", CALLER if called else JOB_LEVEL, files)
    group = uuid.uuid4().hex[:8]
    first = _start(shared, cwd, "first", group, tmp_path / "never", tmp_path)
    wait_for("the first run to hold the group", log_has(tmp_path / "first.log", "holding as first"))
    second = _start(shared, cwd, "second", group, tmp_path, tmp_path)  # its gate exists
    cancelled = record(first)
    log = (tmp_path / "first.log").read_text()
    assert cancelled["conclusion"] == "cancelled", log
    # a calling job is in the record, then its called jobs
    assert [j["result"] for j in cancelled["jobs"]] == ["cancelled"] * (2 if called else 1)
    assert "Canceling since a higher priority waiting request" in log
    done = record(second)
    assert done["conclusion"] == "success"
    assert "holding as second" in (tmp_path / "second.log").read_text()


REVIEWED = """\
on: workflow_call
jobs:
  deploy:
    runs-on: x
    environment: gated
    steps: [{run: echo deployed-by-called}]
"""


def test_a_called_job_waiting_for_review_shows_under_its_caller(
    shared: Shared, tmp_path: Path
) -> None:
    cwd = make_checkout(
        tmp_path / "src",
        "on: push\njobs:\n  call:\n    uses: ./.github/workflows/reviewed.yml\n",
        {".github/workflows/reviewed.yml": REVIEWED},
    )
    (tmp_path / "envs.yml").write_text("gated: {requiredReviewers: [alice]}\n")
    proc = shared.start(cwd, "run", "--environments", str(tmp_path / "envs.yml"),
                        log=tmp_path / "run.log")  # fmt: skip

    def waiting_runs() -> list[dict[str, Any]]:
        done = shared.run(cwd, "list", "-o", "json")
        return [
            r
            for r in (json.loads(done.stdout) if done.stdout else {"items": []})["items"]
            if r.get("status") == "waiting"
        ]

    run = wait_for("the run to show as waiting", waiting_runs)[0]
    assert [(j["name"], j["status"], j["environment"]["name"]) for j in run["jobs"]] == [
        ("call / deploy", "waiting", "gated")
    ]
    ok = shared.run(cwd, "approve", run["id"], "--environment", "gated", "--reviewer", "alice")
    assert ok.returncode == 0, ok.stderr
    rec = record(proc)
    assert rec["conclusion"] == "success"
    assert [(j["id"], j["name"], j["result"], j.get("caller")) for j in rec["jobs"]] == [
        ("call", "call", "success", None),
        ("call/deploy", "call / deploy", "success", "call"),
    ]
    assert "status" not in rec["jobs"][1]
