"""Secrets in the forms GitHub's runner masks, in a real run on the host executor; masking
never touches what shipway computes (the run record's commit sha, ids, results)."""

from __future__ import annotations

import base64
import json
import re

from conftest import Runner
from shipway.store.db import Store
from shipway.store.runs import get_run

SECRET = 'pa55:"w/rd"&x+y'


def test_encoded_forms_and_to_json_are_masked(run_wf: Runner, store: Store) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - run: |
                  printf 'user:%s' "$S" | base64 -w0; echo
                  printf 'xy:%s' "$S" | base64 -w0; echo
                  printf '%s' "$S" | base64 -w0; echo
                  python3 -c 'import os, urllib.parse as u; print(u.quote(os.environ["S"], ""))'
                  echo '${{ toJSON(secrets) }}'
                  echo "second line: line-two-of-key"
                env: {S: "${{ secrets.TOKEN }}"}
        """,
        secrets={"TOKEN": SECRET, "KEY": "line-one-of-key\nline-two-of-key"},
    )
    assert record["conclusion"] == "success"
    _stored, log = get_run(store, record["id"])
    text = "\n".join(lines) + log
    assert SECRET not in text and "line-two-of-key" not in text
    for prefix in ("user:", "xy:", ""):
        whole = base64.b64encode(f"{prefix}{SECRET}".encode()).decode()
        assert whole not in text
    assert "pa55%3A%22w%2Frd%22%26x%2By" not in text
    assert json.dumps(SECRET)[1:-1] not in text
    assert text.count("***") >= 6


def test_a_short_secret_does_not_corrupt_the_run_record(run_wf: Runner, store: Store) -> None:
    hex_digits = {f"S{c}": c for c in "0123456789abcdef"}  # every character of a sha
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - run: echo "sha is $GITHUB_SHA"
        """,
        secrets=hex_digits,
    )
    assert record["conclusion"] == "success"
    assert re.fullmatch(r"[0-9a-f]{40}", record["commit"])
    stored, _log = get_run(store, record["id"])
    assert stored["commit"] == record["commit"]
    assert stored["id"] == record["id"]
    assert stored["jobs"][0]["result"] == "success"
    assert record["commit"] not in "\n".join(lines)  # the log is still masked


def test_a_step_timeout_from_a_secret_is_read_and_a_bad_one_names_its_line(
    run_wf: Runner, store: Store
) -> None:
    workflow = """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - run: echo fine
                timeout-minutes: ${{ secrets.MINUTES }}
              - run: echo after
        """
    record, _lines = run_wf(workflow, secrets={"MINUTES": "2"})
    assert record["conclusion"] == "success"
    record, lines = run_wf(workflow, secrets={"MINUTES": "soon"})
    assert record["conclusion"] == "failure"
    text = "\n".join(lines)
    # the line of timeout-minutes; the secret's value is still masked in the message
    assert "ci.yml:8:9: timeout-minutes: '***' is not a number of minutes" in text, text
    assert "soon" not in text and "Traceback" not in text
    _stored, log = get_run(store, record["id"])
    assert "is not a number of minutes" in log and "soon" not in log


def test_a_job_timeout_from_a_secret_is_refused_before_anything_runs() -> None:
    from shipway.ci.syntax.github import parse_workflow
    from shipway.model.errors import InputError

    text = (
        "on: push\njobs:\n  a:\n    runs-on: x\n"
        "    timeout-minutes: ${{ secrets.MINUTES }}\n    steps: [{run: 'true'}]\n"
    )
    try:
        parse_workflow(text, "ci.yml")
    except InputError as exc:
        assert str(exc).startswith("ci.yml:5:")
        assert "context 'secrets' is not available here" in str(exc)
    else:
        raise AssertionError("a job's timeout-minutes may not read secrets (GitHub refuses it)")
