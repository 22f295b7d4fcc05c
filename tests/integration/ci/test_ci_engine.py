"""The engine on the host executor: real bash/sh/python processes in a real git checkout."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from shipway.store.db import Store
from shipway.store.runs import get_run

Runner = Callable[..., tuple[dict[str, Any], list[str]]]


def jobs(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {j["name"]: j for j in record["jobs"]}


def test_needs_results_propagate_as_github_does(run_wf: Runner) -> None:
    record, _ = run_wf(
        """
        on: push
        jobs:
          a: {runs-on: x, steps: [{run: exit 3}]}
          b: {runs-on: x, needs: a, steps: [{run: "true"}]}
          c: {runs-on: x, needs: b, if: always(), steps: [{run: "echo ${{ needs.b.result }}"}]}
          d: {runs-on: x, needs: a, if: failure(), steps: [{run: "true"}]}
          e: {runs-on: x, needs: b, if: failure(), steps: [{run: "true"}]}
          f: {runs-on: x, needs: [c], steps: [{run: "true"}]}
        """
    )
    got = {j["id"]: j["result"] for j in record["jobs"]}
    # f needs only c, which succeeded, but a failed up its needs chain: success() is false
    assert got == {"a": "failure", "b": "skipped", "c": "success", "d": "success",
                   "e": "success", "f": "skipped"}  # fmt: skip
    assert record["conclusion"] == "failure"


def test_outputs_env_path_and_needs(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        env: {LEVEL: workflow, W: w}
        jobs:
          one:
            runs-on: x
            env: {LEVEL: job}
            outputs: {greeting: "${{ steps.s.outputs.greeting }}"}
            steps:
              - id: s
                run: |
                  echo "greeting=hi there" >> "$GITHUB_OUTPUT"
                  { echo 'MULTI<<EOF'; echo line1; echo line2; echo EOF; } >> "$GITHUB_ENV"
                  mkdir -p "$RUNNER_TEMP/bin"
                  printf '#!/bin/sh\\necho from-path-tool\\n' > "$RUNNER_TEMP/bin/mytool"
                  chmod +x "$RUNNER_TEMP/bin/mytool"
                  echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
                  echo "# Summary" >> "$GITHUB_STEP_SUMMARY"
              - env: {LEVEL: step}
                run: |
                  echo "level=$LEVEL w=$W multi=$(echo "$MULTI" | tr '\\n' ,)"
                  mytool
                  echo "ctx=${{ env.MULTI != '' }} out=${{ steps.s.outputs.greeting }}"
          two:
            needs: one
            runs-on: x
            steps:
              - run: echo "got ${{ needs.one.outputs.greeting }}"
        """
    )
    assert record["conclusion"] == "success", lines
    text = "\n".join(lines)
    assert "level=step w=w multi=line1,line2," in text
    assert "from-path-tool" in text
    assert "ctx=true out=hi there" in text
    assert '[two / Run echo "got hi there"] got hi there' in text
    assert jobs(record)["one"]["outputs"] == {"greeting": "hi there"}
    assert jobs(record)["one"]["summary"] == "# Summary\n"
    assert jobs(record)["one"]["steps"][0]["outputs"] == {"greeting": "hi there"}


def test_shells_working_directory_and_default_env(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            defaults: {run: {working-directory: sub}}
            steps:
              - uses: actions/checkout@v4
              - run: pwd; cat file.txt
              - shell: python
                run: |
                  import os, json
                  print("py", os.environ["GITHUB_SHA"] == "${{ github.sha }}")
                  print("event", json.load(open(os.environ["GITHUB_EVENT_PATH"]))["ref"])
              - shell: sh
                working-directory: .
                run: echo "sh CI=$CI ws=$([ "$GITHUB_WORKSPACE" = "$PWD" ] && echo same)"
              - shell: bash -c "echo custom; . {0}"
                run: echo "in-custom"
              - shell: bash
                run: false | true; echo "pipefail should have failed"
                continue-on-error: true
        """,
        {"sub/file.txt": "content-of-file\n"},
    )
    text = "\n".join(lines)
    assert "content-of-file" in text
    assert "py True" in text
    assert "event refs/heads/main" in text
    assert "sh CI=true ws=same" in text
    assert "custom" in text and "in-custom" in text
    assert "] pipefail should have failed" not in text
    steps = record["jobs"][0]["steps"]
    assert steps[-1]["outcome"] == "failure" and steps[-1]["conclusion"] == "success"
    assert record["conclusion"] == "success"


def test_continue_on_error_timeout_and_step_if(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - id: slow
                run: sleep 20
                timeout-minutes: 0.02
                continue-on-error: true
              - id: after
                run: echo "slow=${{ steps.slow.outcome }}/${{ steps.slow.conclusion }}"
              - id: bad
                run: exit 1
              - run: echo should-not-run
              - if: failure()
                run: echo cleanup-ran
        """
    )
    text = "\n".join(lines)
    assert "slow=failure/success" in text
    assert "should-not-run" not in text.replace("Run echo should-not-run", "")
    assert "cleanup-ran" in text
    steps = record["jobs"][0]["steps"]
    assert [s["conclusion"] for s in steps] == [
        "success",
        "success",
        "failure",
        "skipped",
        "success",
    ]
    assert record["conclusion"] == "failure"


def test_matrix_and_fail_fast(run_wf: Runner) -> None:
    record, _ = run_wf(
        """
        on: push
        jobs:
          m:
            runs-on: x
            strategy:
              max-parallel: 1
              matrix: {n: [1, 2, 3], include: [{n: 2, extra: yes}]}
            steps:
              - run: >-
                  [ "${{ matrix.n }}" != 2 ] || [ "${{ matrix.extra }}" = yes ]
                  && exit ${{ matrix.n == 2 && 1 || 0 }}
          j:
            runs-on: x
            strategy: {matrix: "${{ fromJSON('{\\"v\\": [\\"a\\", \\"b\\"]}') }}", fail-fast: false}
            steps:
              - run: echo ${{ matrix.v }} ${{ strategy.job-index }}/${{ strategy.job-total }}
        """
    )
    got = [(j["name"], j["result"]) for j in record["jobs"]]
    assert got == [("m (1)", "success"), ("m (2, yes)", "failure"), ("m (3)", "cancelled"),
                   ("j (a)", "success"), ("j (b)", "success")]  # fmt: skip
    assert record["jobs"][1]["matrix"] == {"n": 2, "extra": "yes"}


def test_secrets_are_masked_everywhere(run_wf: Runner, store: Store) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            outputs: {leak: "${{ steps.s.outputs.tok }}"}
            steps:
              - id: s
                run: |
                  echo "secret is ${{ secrets.TOKEN }}"
                  echo "::add-mask::dynamic-value-42"
                  echo "then dynamic-value-42 shows"
                  echo "tok=${{ secrets.TOKEN }}" >> "$GITHUB_OUTPUT"
                  echo "::error file=a.txt,line=2::broke with s3cr3t-v4lue"
        """,
        secrets={"TOKEN": "s3cr3t-v4lue"},
    )
    text = "\n".join(lines)
    assert "s3cr3t-v4lue" not in text and "dynamic-value-42" not in text
    assert "secret is ***" in text and "then *** shows" in text
    stored, log = get_run(store, record["id"])
    assert "s3cr3t-v4lue" not in json.dumps(stored) + log
    assert "dynamic-value-42" not in log
    assert record["jobs"][0]["outputs"] == {}
    assert record["annotations"][0]["file"] == "a.txt"


def test_unknown_remote_action_names_it(run_wf: Runner) -> None:
    record, lines = run_wf(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{uses: someone/thing@v1}]\n"
    )
    assert record["conclusion"] == "failure"
    assert any("'someone/thing@v1' is not available" in ln and "vendor" in ln for ln in lines)


def test_job_filter_runs_needs_too(run_wf: Runner) -> None:
    record, _ = run_wf(
        """
        on: push
        jobs:
          a: {runs-on: x, steps: [{run: "true"}]}
          b: {runs-on: x, needs: a, steps: [{run: "true"}]}
          c: {runs-on: x, steps: [{run: "true"}]}
        """,
        job="b",
    )
    assert [j["id"] for j in record["jobs"]] == ["a", "b"]


def test_workflow_dispatch_inputs_are_typed(run_wf: Runner) -> None:
    wf = """
        on:
          workflow_dispatch:
            inputs:
              level: {type: choice, options: [low, high], default: low}
              dry: {type: boolean, default: true}
              count: {type: number, default: 3}
        jobs:
          a:
            runs-on: x
            steps:
              - run: echo "level=${{ inputs.level }} dry=${{ inputs.dry }} n=${{ inputs.count }}"
              - if: inputs.dry
                run: echo dry-run
        """
    record, lines = run_wf(
        wf, event="workflow_dispatch", payload={"inputs": {"level": "high", "dry": "false"}}
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "level=high dry=false n=3" in text and "] dry-run" not in text
    bad, bad_lines = run_wf(wf, event="workflow_dispatch", payload={"inputs": {"level": "max"}})
    assert bad["conclusion"] == "failure" and bad["jobs"] == []
    assert any("'max' is not one of its options" in ln for ln in bad_lines)


def test_workflow_commands_stop_commands_and_debug(run_wf: Runner) -> None:
    wf = """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - name: commands
                run: |
                  echo "::debug::hidden unless debugging"
                  echo "::group::Setup"
                  echo "::stop-commands::pause-token"
                  echo "::add-mask::not-a-mask"
                  echo "::pause-token::"
                  echo "::add-mask::real-mask"
                  echo "not-a-mask and real-mask"
                  echo "::endgroup::"
        """
    _record, lines = run_wf(wf)
    text = "\n".join(lines)
    assert "hidden unless debugging" not in text
    assert "::group::Setup" in text and "::endgroup::" in text
    assert "] ::add-mask::not-a-mask" in text  # printed, not obeyed, while commands are stopped
    assert "not-a-mask and ***" in text
    _record, debug_lines = run_wf(wf, secrets={"ACTIONS_STEP_DEBUG": "true"})
    assert any("##[debug]hidden unless debugging" in ln for ln in debug_lines)


def test_an_internal_error_fails_the_job_not_the_run(
    run_wf: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipway.ci.job import JobRun

    def boom(self: JobRun) -> str:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(JobRun, "execute", boom)
    record, lines = run_wf("on: push\njobs:\n  a: {runs-on: x, steps: [{run: 'true'}]}\n")
    assert record["conclusion"] == "failure"
    assert any("internal error: RuntimeError: disk on fire" in ln for ln in lines)
