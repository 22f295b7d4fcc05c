"""Every job instance gets its own GITHUB_TOKEN, valid only while the job runs.

Without a token from the user, shipway issues one per job (matrix
combinations included), masks it, records its scopes by hash and expires it
when the job ends; a later job logging in to ghcr.io with an earlier job's
token is refused. ``shipway ci run`` (a real process) has a token too, with
SQLite and with the real PostgreSQL server as the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ci_procs import Shared, load_postgres_fixture, make_checkout

from shipway.store import ci_coord
from shipway.store.db import Store

postgres_url = load_postgres_fixture()
Runner = Callable[..., tuple[dict[str, Any], list[str]]]

PER_JOB = """\
on: push
jobs:
  m:
    runs-on: x
    strategy: {{matrix: {{n: [1, 2]}}}}
    steps:
      - run: |
          test -n "$T"
          test "$T" = "${{{{ github.token }}}}"
          printf %s "$T" | sha256sum | cut -d' ' -f1 > {out}/m-${{{{ matrix.n }}}}
          echo "token=$T"
        env: {{T: "${{{{ secrets.GITHUB_TOKEN }}}}"}}
  b:
    runs-on: x
    permissions: {{contents: read}}
    steps:
      - run: printf %s "$T" | sha256sum | cut -d' ' -f1 > {out}/b
        env: {{T: "${{{{ secrets.GITHUB_TOKEN }}}}"}}
"""


def test_each_job_instance_gets_a_token_that_expires_with_it(
    run_wf: Runner, store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "hashes"
    out.mkdir()
    rec, lines = run_wf(PER_JOB.format(out=out))
    assert rec["conclusion"] == "success", lines
    seen = {p.name: p.read_text().strip() for p in out.iterdir()}
    assert set(seen) == {"m-1", "m-2", "b"}
    assert len(set(seen.values())) == 3  # one token per job instance
    assert "token=***" in "\n".join(lines)
    assert not any("token=ghs_" in line for line in lines)
    issued = {t["job"]: t for t in ci_coord.tokens(store, rec["id"])}
    assert {issued[k]["sha256"] for k in ("m-0", "m-1", "b-0")} == set(seen.values())
    assert issued["b-0"]["permissions"]["contents"] == "read"
    assert {t["state"] for t in issued.values()} == {"expired"}
    found = ci_coord.token_info(store, "", digest=seen["b"])
    assert found is not None and found["state"] == "expired" and found["ended"]
    assert ci_coord.token_scopes(store, "", digest=seen["b"]) is None
    assert "ghs_" not in json.dumps(rec)


LATER = """\
on: push
permissions: {{packages: write, contents: read}}
jobs:
  first:
    runs-on: x
    steps:
      - run: printf %s "${{{{ secrets.GITHUB_TOKEN }}}}" > {keep}
  second:
    needs: first
    runs-on: x
    steps:
      - id: old
        run: echo "tok=$(cat {keep})" >> "$GITHUB_OUTPUT"
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{{{ github.actor }}}}
          password: ${{{{ steps.old.outputs.tok }}}}
      - if: always()
        uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{{{ github.actor }}}}
          password: ${{{{ secrets.GITHUB_TOKEN }}}}
"""


def test_a_token_used_after_its_job_is_refused(run_wf: Runner, tmp_path: Path) -> None:
    keep = tmp_path / "first-token"
    rec, lines = run_wf(LATER.format(keep=keep))
    text = "\n".join(lines)
    assert rec["conclusion"] == "failure", text
    second = next(j for j in rec["jobs"] if j["id"] == "second")
    assert [s["conclusion"] for s in second["steps"]] == ["success", "failure", "success"]
    assert "denied: bad credentials: this GITHUB_TOKEN was issued to job first-0" in text
    assert "expired when that job ended" in text
    assert keep.read_text() not in text


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_cli_run_without_a_token_secret_has_one(
    tmp_path: Path, db: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if db == "postgresql" else ""
    shared = Shared(home=tmp_path / "home", database_url=url)
    cwd = make_checkout(
        tmp_path / "src",
        """\
        on: push
        jobs:
          t:
            runs-on: x
            steps:
              - run: test -n "${{ secrets.GITHUB_TOKEN }}" && echo "has ${{ github.token }}"
        """,
    )
    done = shared.run(cwd, "run", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert "has ***" in done.stderr
    rec = json.loads(done.stdout)
    issued = ci_coord.tokens(shared.store(), rec["id"])
    assert [(t["job"], t["state"]) for t in issued] == [("t-0", "expired")]
    assert len(issued[0]["sha256"]) == len(hashlib.sha256().hexdigest())


WHILE_RUNNING = """\
on: push
jobs:
  holder:
    runs-on: x
    permissions: {{contents: read}}
    steps:
      - run: |
          printf %s "${{{{ secrets.GITHUB_TOKEN }}}}" > {keep}.tmp && mv {keep}.tmp {keep}
          while [ ! -e {gate} ]; do sleep 0.05; done
  borrower:
    runs-on: x
    permissions: {{packages: write}}
    steps:
      - id: other
        run: |
          while [ ! -e {keep} ]; do sleep 0.05; done
          echo "tok=$(cat {keep})" >> "$GITHUB_OUTPUT"
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: x
          password: ${{{{ steps.other.outputs.tok }}}}
      - if: always()
        run: touch {gate}
"""


def test_a_running_jobs_token_grants_that_jobs_scopes(run_wf: Runner, tmp_path: Path) -> None:
    keep, gate = tmp_path / "holder-token", tmp_path / "gate"
    rec, lines = run_wf(WHILE_RUNNING.format(keep=keep, gate=gate))
    text = "\n".join(lines)
    jobs = {j["id"]: j for j in rec["jobs"]}
    assert jobs["holder"]["result"] == "success", text
    steps = [s["conclusion"] for s in jobs["borrower"]["steps"]]
    assert steps == ["success", "failure", "success"], text
    # the holder's token is still valid, with the holder's scopes, not the borrower's
    assert "denied: permission_denied: read_package (the job's GITHUB_TOKEN has packages: none" in (
        text
    )
    assert "expired" not in text
