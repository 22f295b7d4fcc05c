"""Parallel jobs, max-parallel, fail-fast cancellation, concurrency groups, reusable workflows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.ci import concurrency
from shipway.runtime.host import Cancel

Runner = Callable[..., tuple[dict[str, Any], list[str]]]

# Each side creates its flag, then waits (up to N/10 s) for the other's: only
# jobs that really run at the same time both succeed.
RENDEZVOUS = """\
touch "$1/$2"
for i in $(seq "$4"); do [ -f "$1/$3" ] && exit 0; sleep 0.1; done
echo "never saw $3"; exit 1
"""


def rendezvous(tmp_path: Path) -> str:
    script = tmp_path / "rendezvous.sh"
    script.write_text(RENDEZVOUS)
    flags = tmp_path / "flags"
    flags.mkdir(exist_ok=True)
    return f"sh {script} {flags}"


def test_independent_jobs_run_in_parallel(run_wf: Runner, tmp_path: Path) -> None:
    rv = rendezvous(tmp_path)
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          a:
            runs-on: x
            steps: [{{run: {rv} a b 100}}]
          b:
            runs-on: x
            steps: [{{run: {rv} b a 100}}]
          c:
            needs: [a, b]
            runs-on: x
            steps: [{{run: echo after}}]
        """
    )
    assert record["conclusion"] == "success", lines
    assert [j["id"] for j in record["jobs"]] == ["a", "b", "c"]


def test_max_parallel_one_serialises_and_fail_fast_cancels(run_wf: Runner, tmp_path: Path) -> None:
    rv = rendezvous(tmp_path)
    record, _ = run_wf(
        f"""
        on: push
        jobs:
          m:
            runs-on: x
            strategy:
              max-parallel: 1
              matrix:
                include: [{{me: a, other: b}}, {{me: b, other: a}}]
            steps:
              - run: {rv} ${{{{ matrix.me }}}} ${{{{ matrix.other }}}} 15
        """
    )
    assert [j["result"] for j in record["jobs"]] == ["failure", "cancelled"]


def test_fail_fast_cancels_running_siblings(run_wf: Runner) -> None:
    record, _ = run_wf(
        """
        on: push
        jobs:
          m:
            runs-on: x
            strategy:
              matrix: {n: [1, 2]}
            steps:
              - run: if [ ${{ matrix.n }} = 1 ]; then sleep 0.3; exit 1; fi; sleep 30
              - if: always()
                run: echo "status=${{ job.status }}"
        """
    )
    assert [j["result"] for j in record["jobs"]] == ["failure", "cancelled"]
    assert record["conclusion"] == "failure"


def test_cleanup_steps_run_after_a_cancel(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          m:
            runs-on: x
            strategy:
              matrix: {n: [1, 2]}
            steps:
              - run: if [ ${{ matrix.n }} = 1 ]; then sleep 0.3; exit 1; fi; sleep 30
              - run: echo "plain step ran"
              - if: always()
                run: sleep 0.2; echo "cleanup ${{ matrix.n }} status=${{ job.status }}"
              - if: cancelled()
                run: echo "noticed the cancel"
        """
    )
    assert [j["result"] for j in record["jobs"]] == ["failure", "cancelled"]
    text = "\n".join(lines)
    assert "cleanup 2 status=cancelled" in text  # ran to its end despite the cancel
    assert "noticed the cancel" in text
    assert "plain step ran" not in text
    steps = [(s["name"][:12], s["conclusion"]) for s in record["jobs"][1]["steps"]]
    assert steps[1:] == [("Run echo \"pl", "skipped"), ("Run sleep 0.", "success"),
                         ("Run echo \"no", "success")]  # fmt: skip


def test_concurrency_group_pending_and_cancel_in_progress() -> None:
    first, second, third = Cancel(), Cancel(), Cancel()
    order: list[str] = []
    t2 = threading.Thread(target=_enter, args=("t/g", second, False, order, "second"))
    t3 = threading.Thread(target=_enter, args=("t/g", third, True, order, "third"))
    with concurrency.hold("t/g", first, False) as ok:
        assert ok
        t2.start()
        _until(lambda: concurrency._GROUPS["t/g"].pending is second)
        t3.start()
        _until(second.event.is_set)  # the older pending entrant is replaced
        assert first.event.is_set()  # cancel-in-progress cancels the running holder
    t2.join(timeout=10)
    t3.join(timeout=10)
    assert sorted(order) == ["second:False", "third:True"]


def _until(check: Callable[[], bool]) -> None:
    for _ in range(200):
        if check():
            return
        threading.Event().wait(0.05)
    raise AssertionError("condition not reached")


def _enter(group: str, cancel: Cancel, cip: bool, order: list[str], name: str) -> None:
    with concurrency.hold(group, cancel, cip) as ok:
        order.append(f"{name}:{ok}")


CALLED = """\
on:
  workflow_call:
    inputs:
      who: {type: string, required: true}
      loud: {type: boolean, default: false}
      times: {type: number, default: 2}
    secrets:
      token: {required: true}
    outputs:
      greeting: {value: "${{ jobs.greet.outputs.text }}"}
jobs:
  greet:
    runs-on: x
    outputs: {text: "${{ steps.s.outputs.text }}"}
    steps:
      - id: s
        run: |
          text="hello ${{ inputs.who }} x${{ inputs.times }} loud=${{ inputs.loud }}"
          echo "text=$text" >> "$GITHUB_OUTPUT"
          echo "token=${{ secrets.token }} other=${{ secrets.OTHER }}"
"""


def test_reusable_workflow_inputs_outputs_secrets(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          call:
            uses: ./.github/workflows/called.yml
            with: {who: world, loud: true}
            secrets: {token: "${{ secrets.TOKEN }}"}
          inherit:
            uses: ./.github/workflows/called.yml
            with: {who: heir}
            secrets: inherit
          missing:
            uses: ./.github/workflows/called.yml
            with: {who: x}
          after:
            needs: call
            runs-on: x
            steps: [{run: 'echo "got ${{ needs.call.outputs.greeting }}"'}]
        """,
        {".github/workflows/called.yml": CALLED},
        secrets={"TOKEN": "tk-1", "OTHER": "ot-2", "token": "tk-1"},
    )
    text = "\n".join(lines)
    assert "got hello world x2 loud=true" in text
    call_lines = [ln for ln in lines if ln.startswith("[call / greet / ")]
    assert any(ln.endswith("] token=*** other=") for ln in call_lines), call_lines
    results = {j["name"]: j["result"] for j in record["jobs"]}
    assert results["call / greet"] == "success"
    assert results["inherit / greet"] == "success"
    assert results["missing"] == "failure"
    assert "required secret 'token' was not passed" in text
    assert any("other=***" in ln for ln in lines if "[inherit / greet" in ln)


def test_reusable_workflow_called_by_a_matrix(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          call:
            strategy:
              matrix: {who: [ann, bob], times: [1]}
            uses: ./.github/workflows/called.yml
            with: {who: "${{ matrix.who }}", times: "${{ matrix.times }}"}
            secrets: inherit
          after:
            needs: call
            runs-on: x
            steps: [{run: 'echo "got ${{ needs.call.outputs.greeting }}"'}]
        """,
        {".github/workflows/called.yml": CALLED},
        secrets={"token": "tk-1"},
    )
    assert record["conclusion"] == "success", "\n".join(lines)
    results = {j["name"]: j["result"] for j in record["jobs"]}
    assert results["call (ann, 1) / greet"] == "success"
    assert results["call (bob, 1) / greet"] == "success"
    text = "\n".join(lines)
    assert "[call (ann, 1) / greet / " in text and "hello ann x1" in text
    assert "hello bob x1" in text
    got = [ln for ln in lines if "] got hello " in ln]
    assert len(got) == 1 and got[0].rsplit("got hello ", 1)[1] in ("ann x1 loud=false",
                                                                 "bob x1 loud=false")  # fmt: skip


def test_workflow_concurrency_cancel_in_progress(run_wf: Runner, tmp_path: Path) -> None:
    wf = f"""
        on: push
        concurrency: {{group: "deploy-${{{{ github.ref }}}}", cancel-in-progress: true}}
        jobs:
          a:
            runs-on: x
            steps:
              - run: touch {tmp_path}/started-$GITHUB_RUN_ID; sleep 30
        """
    results: dict[str, dict[str, Any]] = {}
    first = threading.Thread(target=lambda: results.update(first=run_wf(wf)[0]))
    first.start()
    _until(lambda: any(tmp_path.glob("started-*")))
    # the same group written in other case: GitHub compares group names without case
    second, _ = run_wf(wf.replace("sleep 30", "echo second").replace('"deploy-', '"DEPLOY-'))
    first.join(timeout=30)
    assert results["first"]["conclusion"] == "cancelled"
    assert second["conclusion"] == "success"


def test_job_timeout_fails_the_job(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            timeout-minutes: 0.02
            steps:
              - run: sleep 20
              - run: echo never
          b:
            needs: a
            if: always()
            runs-on: x
            steps: [{run: 'echo "a=${{ needs.a.result }}"'}]
        """
    )
    assert [j["result"] for j in record["jobs"]] == ["failure", "success"]
    assert any("a=failure" in ln for ln in lines)
    assert not any(ln.endswith("] never") for ln in lines)
