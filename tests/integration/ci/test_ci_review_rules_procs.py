"""Who may review a deployment, and a waiting job in the stored run, via ``shipway ci``.

A run (a real process) waits for a review of ``gated``; ``ci approvals``
lists it; ``ci list`` and ``ci logs`` show the run waiting; a reviewer the
environment does not list is refused (exit 4, naming who may review), the
run's actor is refused under ``preventSelfReview``; a listed reviewer's
approval lets the job run. SQLite and the real PostgreSQL server as the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ci_procs import Shared, load_postgres_fixture, make_checkout, record, wait_for

postgres_url = load_postgres_fixture()

WORKFLOW = """\
on: push
jobs:
  deploy:
    runs-on: x
    strategy: {matrix: {region: [eu]}}
    environment: gated
    steps:
      - run: echo "deploying ${{ matrix.region }} for ${{ github.actor }}"
"""

ENVIRONMENTS = """\
gated:
  requiredReviewers: [alice, bob]
  preventSelfReview: true
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shared]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    s = Shared(home=tmp_path / "home", database_url=url)
    try:
        yield s
    finally:
        s.stop_all()


def _json(shared: Shared, cwd: Path, *args: str) -> Any:
    done = shared.run(cwd, *args, "-o", "json")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    return got["items"] if isinstance(got, dict) and got.get("kind") == "List" else got


def test_only_listed_reviewers_and_not_the_actor(shared: Shared, tmp_path: Path) -> None:
    cwd = make_checkout(tmp_path / "src", WORKFLOW)
    (tmp_path / "envs.yml").write_text(ENVIRONMENTS)
    shared.store().close()  # the schema first: two processes must not both create it
    log = tmp_path / "run.log"
    proc = shared.start(cwd, "run", "--environments", str(tmp_path / "envs.yml"),
                        "--actor", "bob", log=log)  # fmt: skip
    waiting = wait_for(
        "a job waiting for review",
        lambda: [w for w in _json(shared, cwd, "approvals") if w["actor"] == "bob"],
    )
    run_id = waiting[0]["run"]
    assert [(w["job"], w["environment"], w["reviewers"]) for w in waiting] == [
        ("deploy-0", "gated", ["alice", "bob"])
    ]
    assert waiting[0]["since"] and waiting[0]["actor"] == "bob"
    assert _json(shared, cwd, "approvals", run_id[:6]) == waiting
    assert _json(shared, cwd, "approvals", "nosuchrun") == []
    table = shared.run(cwd, "approvals")
    assert run_id in table.stdout and "alice, bob" in table.stdout

    stored = wait_for("the waiting run in the store",
                      lambda: [r for r in _json(shared, cwd, "list")
                               if r["status"] == "waiting"])  # fmt: skip
    job = stored[0]["jobs"][0]
    assert (job["status"], job["environment"]["name"], job["matrix"]) == (
        "waiting", "gated", {"region": "eu"})  # fmt: skip
    assert "waiting" in shared.run(cwd, "list").stdout
    assert "Waiting for review: gated needs approval" in shared.run(cwd, "logs", run_id).stdout

    carol = shared.run(cwd, "approve", run_id, "--environment", "gated", "--reviewer", "carol")
    assert carol.returncode == 4, carol.stderr
    assert "carol is not a required reviewer; who may review: alice, bob" in carol.stderr
    bob = shared.run(cwd, "approve", run_id, "--environment", "gated", "--reviewer", "bob")
    assert bob.returncode == 4, bob.stderr
    assert "bob triggered this run and may not review it (preventSelfReview)" in bob.stderr
    assert len(_json(shared, cwd, "approvals", run_id)) == 1  # nothing was decided

    ok = shared.run(cwd, "approve", run_id, "--environment", "gated", "--reviewer", "Alice")
    assert ok.returncode == 0, ok.stderr
    rec = record(proc)
    assert rec["conclusion"] == "success" and rec["status"] == "completed"
    assert [j.get("status") for j in rec["jobs"]] == [None]
    assert rec["jobs"][0]["result"] == "success"
    assert "deploying eu for bob" in log.read_text()
    assert "approved by Alice" in log.read_text()
    assert _json(shared, cwd, "approvals", run_id) == []
    final = next(r for r in _json(shared, cwd, "list") if r["id"] == run_id)
    assert final["status"] == "completed" and final["jobs"][0]["result"] == "success"
