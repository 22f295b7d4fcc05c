"""``concurrency:`` across processes: two or three ``shipway ci run`` sharing one store.

Runs on SQLite (one SHIPWAY_HOME) and on a real PostgreSQL server. Waits by
polling the store and the logs; no timing is asserted.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_procs import Shared, load_postgres_fixture, log_has, make_checkout, record, wait_for

from shipway.store import ci_coord

postgres_url = load_postgres_fixture()

WORKFLOW = """\
on: push
concurrency:
  group: deploy-${{ vars.GROUP }}
  cancel-in-progress: ${{ vars.CANCEL == 'yes' }}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "holding as ${{ vars.NAME }}"
          while [ ! -e "${{ vars.GATE }}" ]; do sleep 0.1; done
"""

JOB_LEVEL = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    concurrency:
      group: job-${{ github.workflow }}-${{ vars.GROUP }}
      cancel-in-progress: true
    steps:
      - run: |
          echo "holding as ${{ vars.NAME }}"
          while [ ! -e "${{ vars.GATE }}" ]; do sleep 0.1; done
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shared]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    s = Shared(home=tmp_path / "home", database_url=url)
    try:
        yield s
    finally:
        s.stop_all()


def _group_key(cwd: Path, name: str) -> str:
    return f"{cwd.parent.name}/{cwd.name}/{name}".lower()  # scoped by repository, no case


def _states(shared: Shared, key: str) -> list[str]:
    store = shared.store()
    try:
        return [h["state"] for h in ci_coord.holders(store, key)]
    finally:
        store.close()


def _run(shared: Shared, cwd: Path, name: str, group: str, gate: Path, tmp: Path, cancel: str):  # type: ignore[no-untyped-def]
    return shared.start(cwd, "run", "--var", f"NAME={name}", "--var", f"GROUP={group}",
                        "--var", f"GATE={gate}", "--var", f"CANCEL={cancel}",
                        log=tmp / f"{name}.log")  # fmt: skip


def test_cancel_in_progress_cancels_the_other_process(shared: Shared, tmp_path: Path) -> None:
    cwd = make_checkout(tmp_path / "src", WORKFLOW)
    group = uuid.uuid4().hex[:8]
    key = _group_key(cwd, f"deploy-{group}")
    first = _run(shared, cwd, "first", group, tmp_path / "never", tmp_path, "yes")
    wait_for("the first run to hold the group", log_has(tmp_path / "first.log", "holding as first"))
    assert _states(shared, key) == ["running"]
    second = _run(shared, cwd, "second", group, tmp_path, tmp_path, "yes")  # its gate exists
    cancelled = record(first)
    assert cancelled["conclusion"] == "cancelled"
    assert cancelled["jobs"][0]["result"] == "cancelled"
    assert (
        "Canceling since a higher priority waiting request" in (tmp_path / "first.log").read_text()
    )
    done = record(second)
    assert done["conclusion"] == "success"
    assert wait_for("the group to empty", lambda: _states(shared, key) == [])


def test_newer_pending_run_replaces_the_older_pending(shared: Shared, tmp_path: Path) -> None:
    cwd = make_checkout(tmp_path / "src", WORKFLOW)
    group = uuid.uuid4().hex[:8]
    key = _group_key(cwd, f"deploy-{group}")
    gate = tmp_path / "gate"
    first = _run(shared, cwd, "first", group, gate, tmp_path, "no")
    wait_for("the first run to hold the group", log_has(tmp_path / "first.log", "holding as first"))
    second = _run(shared, cwd, "second", group, tmp_path, tmp_path, "no")
    wait_for("a pending entrant", lambda: _states(shared, key) == ["running", "pending"])
    third = _run(shared, cwd, "third", group, tmp_path, tmp_path, "no")
    replaced = record(second)  # the newer pending run cancels it while the first still runs
    assert replaced["conclusion"] == "cancelled"
    assert "holding as second" not in (tmp_path / "second.log").read_text()
    assert first.poll() is None
    gate.touch()
    assert record(first)["conclusion"] == "success"
    assert record(third)["conclusion"] == "success"
    assert "holding as third" in (tmp_path / "third.log").read_text()


def test_a_dead_holder_is_released(shared: Shared, tmp_path: Path) -> None:
    cwd = make_checkout(tmp_path / "src", JOB_LEVEL)
    group = uuid.uuid4().hex[:8]
    key = _group_key(cwd, f"job-.github/workflows/ci.yml-{group}")
    first = _run(shared, cwd, "first", group, tmp_path / "never", tmp_path, "")
    wait_for("the first run to hold the group", log_has(tmp_path / "first.log", "holding as first"))
    os.killpg(first.pid, signal.SIGKILL)  # the process dies holding the group
    first.wait()
    assert _states(shared, key) == ["running"]
    second = _run(shared, cwd, "second", group, tmp_path, tmp_path, "")
    assert record(second)["conclusion"] == "success"
    assert "holding as second" in (tmp_path / "second.log").read_text()
