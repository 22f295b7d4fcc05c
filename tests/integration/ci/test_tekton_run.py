"""Tekton TaskRuns and PipelineRuns run by shipway on the host and on real podman.

Images named by their Docker Hub names (``busybox``) resolve through
``SHIPWAY_REGISTRY_ALIASES`` to the test registry, where the test pushed a
locally built busybox.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.model.errors import InputError
from shipway.runtime.host import Cancel
from shipway.store.db import Store
from shipway.store.runs import get_run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub_busybox(podman: dict[str, str], busybox_image: str, registry: Any) -> str:
    """busybox pushed to the test registry as Docker Hub's ``library/busybox``."""
    env = {**os.environ, **podman}
    target = f"{registry.host}/library/busybox:latest"
    subprocess.run(["podman", "push", "-q", "--tls-verify=false", busybox_image, target],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return registry.host


Ran = tuple[dict[str, Any], list[str]]


def _run(store: Store | None, text: str, tmp_path: Path, **kw: Any) -> Ran:
    lines: list[str] = []
    opts = RunOptions(base_dir=tmp_path / "ci", pvc_dir=tmp_path / "pvc",
                      podman_home=tmp_path / "podman-home", on_line=lines.append, **kw)  # fmt: skip
    records = run_files(store, [(textwrap.dedent(text), "run.yaml")], opts, Cancel())
    assert len(records) == 1
    return records[0], lines


TASKRUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: greet
spec:
  params:
    - name: who
      value: tekton
  workspaces:
    - name: out
      emptyDir: {}
  taskSpec:
    params:
      - name: who
      - name: words
        type: array
        default: ["a", "b"]
    results:
      - name: greeting
      - name: sizes
        type: array
    workspaces:
      - name: out
        mountPath: /data
    steps:
      - name: say
        image: busybox
        command: [echo]
        args: ["hello", "$(params.who)", "$(params.words[*])"]
      - name: may-fail
        image: busybox
        onError: continue
        script: |
          echo before
          false
          echo not-reached
      - name: write
        image: busybox
        script: |
          #!/bin/sh
          cat $(steps.step-may-fail.exitCode.path) > $(workspaces.out.path)/code
          printf 'hi %s' "$(params.who)" > $(results.greeting.path)
          echo '["1","2"]' > $(results.sizes.path)
          echo "run=$(context.taskRun.name) bound=$(workspaces.out.bound)"
"""


@pytest.mark.parametrize("executor", ["host", "podman"])
def test_a_taskrun_with_params_results_workspaces_onerror(
    executor: str, tmp_path: Path, store: Store, podman: dict[str, str], hub_busybox: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SHIPWAY_REGISTRY_ALIASES", f"docker.io={hub_busybox}")
    record, lines = _run(store, TASKRUN, tmp_path, executor=executor, podman_env=podman)
    status = record["status"]
    assert status["conditions"][0]["reason"] == "Succeeded", lines
    assert status["conditions"][0]["message"] == "All Steps have completed executing"
    assert status["results"] == [
        {"name": "greeting", "type": "string", "value": "hi tekton"},
        {"name": "sizes", "type": "array", "value": ["1", "2"]},
    ]
    codes = [s["terminated"]["exitCode"] for s in status["steps"]]
    assert codes == [0, 1, 0]
    assert "[step-say] hello tekton a b" in lines
    assert "[step-may-fail] before" in lines and "[step-may-fail] not-reached" not in lines
    assert "[step-write] run=greet bound=true" in lines
    assert record["conclusion"] == "success"
    assert [s["outcome"] for s in record["jobs"][0]["steps"]] == ["success", "failure", "success"]
    assert [s["conclusion"] for s in record["jobs"][0]["steps"]][1] == "success"
    stored, log = get_run(store, record["id"])
    assert stored["status"] == status and "hello tekton a b" in log
    if executor == "podman":
        assert status["steps"][0]["imageID"] == f"{hub_busybox}/library/busybox"


def test_a_failing_step_stops_the_task_and_times_out(tmp_path: Path) -> None:
    text = """\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {name: bad}
    spec:
      taskSpec:
        steps:
          - name: fail
            script: exit 3
          - name: never
            script: echo never
    """
    record, _ = _run(None, text, tmp_path)
    cond = record["status"]["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "Failed")
    assert cond["message"] == '"step-fail" exited with code 3'
    assert record["status"]["steps"][1]["terminated"]["reason"] == "Skipped"
    assert record["conclusion"] == "failure"
    slow = text.replace("exit 3", "sleep 20").replace("metadata: {name: bad}",
                                                      "metadata: {name: slow}")  # fmt: skip
    slow = slow.replace("    spec:\n", "    spec:\n      timeout: 1s\n", 1)
    record, _ = _run(None, slow, tmp_path)
    cond = record["status"]["conditions"][0]
    assert cond["reason"] == "TaskRunTimeout"
    assert cond["message"] == 'TaskRun "slow" failed to finish within "1s"'


PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: flaky}
spec:
  workspaces: [{name: state}]
  tasks:
    - name: flaky
      retries: 2
      workspaces: [{name: s, workspace: state}]
      taskSpec:
        workspaces: [{name: s}]
        results: [{name: tries}]
        steps:
          - name: try
            script: |
              echo x >> $(workspaces.s.path)/count
              n=$(wc -l < $(workspaces.s.path)/count)
              printf "$n" > $(results.tries.path)
              [ "$n" -ge 3 ]
    - name: matrix
      matrix:
        params: [{name: os, value: [linux, mac]}]
      taskSpec:
        params: [{name: os}]
        results: [{name: said}]
        steps:
          - name: s
            script: printf "$(params.os)" > $(results.said.path)
    - name: broken
      runAfter: [flaky, matrix]
      params:
        - {name: n, value: "$(tasks.matrix.results.said[*])"}
      taskSpec:
        params: [{name: n, type: array}]
        steps:
          - name: s
            command: [sh, -c, 'echo "oses $0 $1"; exit 1', "$(params.n[*])"]
    - name: after-broken
      runAfter: [broken]
      taskSpec:
        steps: [{name: s, script: echo never}]
  finally:
    - name: report
      params:
        - {name: all, value: $(tasks.status)}
        - {name: flaky, value: $(tasks.flaky.status)}
        - {name: tries, value: $(tasks.flaky.results.tries)}
        - {name: n, value: $(tasks.matrix.matrix.length)}
      taskSpec:
        params: [{name: all}, {name: flaky}, {name: tries}, {name: n}]
        steps:
          - name: s
            script: echo "report $(params.all) $(params.flaky) $(params.tries) $(params.n)"
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr}
spec:
  pipelineRef: {name: flaky}
  workspaces: [{name: state, emptyDir: {}}]
"""


def test_a_pipelinerun_retries_matrix_stopping_and_finally(tmp_path: Path) -> None:
    record, lines = _run(None, PIPELINE, tmp_path)
    status = record["status"]
    cond = status["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "Failed"), lines
    assert (
        cond["message"] == "Tasks Completed: 4 (Failed: 1, Cancelled 0), Skipped: 1"
    )  # a matrix task is one
    assert status["skippedTasks"] == [{"name": "after-broken",
                                       "reason": "PipelineRun was stopping"}]  # fmt: skip
    names = [c["name"] for c in status["childReferences"]]
    assert sorted(names) == ["pr-broken", "pr-flaky", "pr-matrix-0", "pr-matrix-1", "pr-report"]
    flaky = next(j for j in record["jobs"] if j["id"] == "flaky")
    assert len(flaky["status"]["retriesStatus"]) == 2
    assert "[broken] [step-s] oses linux mac" in lines
    assert "[report] [step-s] report Failed Succeeded 3 2" in lines
    assert status["finallyStartTime"]


def test_bad_runs_are_refused_before_anything_runs(tmp_path: Path) -> None:
    text = PIPELINE.replace("workspaces: [{name: state, emptyDir: {}}]", "workspaces: []")
    with pytest.raises(InputError, match='requires workspace with name "state"'):
        _run(None, text, tmp_path, params={"nope": "1"})
    pending = PIPELINE.replace("  pipelineRef: {name: flaky}", "  pipelineRef: {name: flaky}\n"
                               "  status: PipelineRunPending")  # fmt: skip
    with pytest.raises(InputError, match=r"spec\.status is PipelineRunPending"):
        _run(None, pending, tmp_path)


STEP_ACTION = """\
apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: greet}
spec:
  params:
    - {name: who, default: world}
  results:
    - name: line
  script: |
    echo "hello $(params.who)"
    printf "said $(params.who)" > $(step.results.line.path)
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: sa}
spec:
  taskSpec:
    steps:
      - name: use
        ref: {name: greet}
        params: [{name: who, value: action}]
      - name: after
        script: echo "got $(steps.use.results.line)"
"""


def test_a_step_action_and_its_step_results(tmp_path: Path) -> None:
    record, lines = _run(None, STEP_ACTION, tmp_path)
    assert record["conclusion"] == "success", lines
    assert "[step-use] hello action" in lines and "[step-after] got said action" in lines


TYPED_STEP_RESULTS = """\
apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: show}
spec:
  params:
    - {name: names, type: array}
    - name: image
      type: object
      properties: {url: {type: string}, digest: {type: string}}
  command: [sh, -c, 'echo "argc=$# first=$1 url=$URL digest=$DIGEST"', sh]
  args: ["$(params.names[*])"]
  env:
    - {name: URL, value: $(params.image.url)}
    - {name: DIGEST, value: $(params.image.digest)}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: typed}
spec:
  taskSpec:
    steps:
      - name: produce
        results:
          - {name: names, type: array}
          - name: image
            type: object
            properties: {url: {type: string}, digest: {type: string}}
        script: |
          printf '["a", "b", "c"]' > $(step.results.names.path)
          printf '{"url": "reg.test/app", "digest": "sha256:1"}' > $(step.results.image.path)
      - name: consume
        ref: {name: show}
        params:
          - {name: names, value: "$(steps.produce.results.names[*])"}
          - {name: image, value: "$(steps.produce.results.image[*])"}
"""


def test_an_inline_steps_typed_results_feed_a_step_action(tmp_path: Path) -> None:
    record, lines = _run(None, TYPED_STEP_RESULTS, tmp_path)
    assert record["conclusion"] == "success", lines
    assert "[step-consume] argc=3 first=a url=reg.test/app digest=sha256:1" in lines


TIMEOUTS = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: to}
spec:
  timeouts: {pipeline: PIPELINE, tasks: TASKS}
  pipelineSpec:
    tasks:
      - name: slow
        taskSpec:
          steps: [{name: s, script: sleep 30}]
      - name: later
        runAfter: [slow]
        taskSpec:
          steps: [{name: s, script: echo later}]
    finally:
      - name: fin
        params: [{name: st, value: $(tasks.slow.status)}]
        taskSpec:
          params: [{name: st}]
          steps: [{name: s, script: echo "final $(params.st)"}]
"""


def test_tasks_timeout_cancels_then_finally_runs_pipeline_timeout_skips_it(
    tmp_path: Path,
) -> None:
    text = TIMEOUTS.replace("PIPELINE", "1m").replace("TASKS", "1s")
    record, lines = _run(None, text, tmp_path)
    cond = record["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == (
        "Failed", "Tasks Completed: 2 (Failed: 0, Cancelled 1), Skipped: 1")  # fmt: skip
    assert record["status"]["skippedTasks"] == [
        {"name": "later", "reason": "PipelineRun Tasks timeout has been reached"}]  # fmt: skip
    assert "[fin] [step-s] final Failed" in lines
    text = TIMEOUTS.replace("PIPELINE", "1s").replace("TASKS", "1m")
    record, lines = _run(None, text, tmp_path)
    cond = record["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == (
        "PipelineRunTimeout", 'PipelineRun "to" failed to finish within "1s"')  # fmt: skip
    skipped = {t["name"]: t["reason"] for t in record["status"]["skippedTasks"]}
    assert skipped == {"later": "PipelineRun timeout has been reached",
                       "fin": "PipelineRun timeout has been reached"}  # fmt: skip


SIDECAR = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: side}
spec:
  taskSpec:
    sidecars:
      - name: web
        image: busybox
        script: |
          mkdir -p /tmp/www && echo from-sidecar > /tmp/www/index.html
          exec httpd -f -p 127.0.0.1:PORT -h /tmp/www
    steps:
      - name: get
        image: busybox
        script: |
          for i in 1 2 3 4 5 6 7 8 9 10; do
            wget -qO- http://127.0.0.1:PORT/ && exit 0
            sleep 0.5
          done
          exit 1
"""


def test_a_sidecar_answers_on_localhost_on_podman(
    tmp_path: Path, podman: dict[str, str], hub_busybox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SHIPWAY_REGISTRY_ALIASES", f"docker.io={hub_busybox}")
    text = SIDECAR.replace("PORT", str(port))
    record, lines = _run(None, text, tmp_path, executor="podman", podman_env=podman)
    assert record["conclusion"] == "success", lines
    assert "[step-get] from-sidecar" in lines


def test_cancelling_a_pipelinerun_stops_it_and_skips_finally(tmp_path: Path) -> None:
    import threading

    text = TIMEOUTS.replace("PIPELINE", "1m").replace("TASKS", "1m")
    cancel = Cancel()
    lines: list[str] = []
    opts = RunOptions(base_dir=tmp_path / "ci", pvc_dir=tmp_path / "pvc",
                      podman_home=tmp_path / "podman-home", on_line=lines.append)  # fmt: skip
    started = threading.Event()

    def watch(line: str) -> None:
        lines.append(line)
        if "[slow] [step-s]" in line:
            started.set()

    opts.on_line = watch
    out: list[dict[str, Any]] = []
    runner = threading.Thread(target=lambda: out.extend(
        run_files(None, [(textwrap.dedent(text), "run.yaml")], opts, cancel)))  # fmt: skip
    runner.start()
    assert started.wait(60)
    cancel.cancel()
    runner.join(60)
    (record,) = out
    cond = record["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == ("Cancelled", 'PipelineRun "to" was cancelled')
    skipped = {t["name"]: t["reason"] for t in record["status"]["skippedTasks"]}
    assert skipped == {"later": "PipelineRun was cancelled", "fin": "PipelineRun was cancelled"}
    slow = next(j for j in record["jobs"] if j["id"] == "slow")
    assert slow["status"]["conditions"][0]["reason"] == "TaskRunCancelled"


def test_task_run_specs_timeout_overrides_the_pipeline_tasks(tmp_path: Path) -> None:
    text = (
        TIMEOUTS.replace("PIPELINE", "1m")
        .replace("TASKS", "1m")
        .replace(
            "  timeouts:",
            "  taskRunSpecs:\n    - {pipelineTaskName: slow, timeout: 1s}\n  timeouts:",
        )
    )
    record, lines = _run(None, text, tmp_path)
    slow = next(j for j in record["jobs"] if j["id"] == "slow")
    cond = slow["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == (
        "TaskRunTimeout", 'TaskRun "to-slow" failed to finish within "1s"'), lines  # fmt: skip
    assert "[fin] [step-s] final Failed" in lines


ON_ERROR = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: oe}
spec:
  pipelineSpec:
    tasks:
      - name: flaky
        onError: continue
        taskSpec:
          results: [{name: got}]
          steps:
            - name: s
              script: |
                printf early > $(results.got.path)
                exit 4
      - name: next
        runAfter: [flaky]
        params: [{name: got, value: $(tasks.flaky.results.got)}]
        taskSpec:
          params: [{name: got}]
          steps: [{name: s, script: echo "next got $(params.got)"}]
    finally:
      - name: report
        params:
          - {name: st, value: $(tasks.flaky.status)}
          - {name: why, value: $(tasks.flaky.reason)}
          - {name: all, value: $(tasks.status)}
        taskSpec:
          params: [{name: st}, {name: why}, {name: all}]
          steps: [{name: s, script: echo "report $(params.st) $(params.why) $(params.all)"}]
"""


def test_a_pipeline_tasks_on_error_continue_lets_the_run_go_on(tmp_path: Path) -> None:
    record, lines = _run(None, ON_ERROR, tmp_path)
    assert record["conclusion"] == "success", lines
    cond = record["status"]["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("True", "Succeeded")
    assert cond["message"] == "Tasks Completed: 3 (Failed: 1 (Ignored: 1), Cancelled 0), Skipped: 0"
    assert "[next] [step-s] next got early" in lines
    assert "[report] [step-s] report Failed FailureIgnored Failed" in lines
    flaky = next(j for j in record["jobs"] if j["id"] == "flaky")
    assert flaky["status"]["conditions"][0]["reason"] == "FailureIgnored"
    stop = ON_ERROR.replace("        onError: continue\n", "")
    record, _ = _run(None, stop, tmp_path / "stop")
    assert record["status"]["conditions"][0]["reason"] == "Failed"
    with pytest.raises(InputError, match="OnError cannot be set to continue when Retries"):
        _run(None, ON_ERROR.replace("onError: continue", "onError: continue\n        retries: 1"),
             tmp_path / "bad")  # fmt: skip


RETRY_COUNT = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: rc}
spec:
  pipelineSpec:
    tasks:
      - name: retry-me
        retries: 2
        params: [{name: last, value: "$(context.pipelineTask.retries)"}]
        taskSpec:
          params: [{name: last}]
          steps:
            - name: s
              script: |
                echo "try $(context.task.retry-count) of $(params.last)"
                [ "$(context.task.retry-count)" = "$(params.last)" ]
"""


def test_a_pipeline_tasks_params_see_its_retries(tmp_path: Path) -> None:
    record, lines = _run(None, RETRY_COUNT, tmp_path)
    assert record["conclusion"] == "success", lines
    assert [ln for ln in lines if "[step-s] try" in ln] == [
        "[retry-me] [step-s] try 0 of 2", "[retry-me] [step-s] try 1 of 2",
        "[retry-me] [step-s] try 2 of 2"]  # fmt: skip


SUBPATHS = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: sp}
spec:
  params: [{name: where, value: dir-2}]
  workspaces: [{name: ws, emptyDir: {}}]
  pipelineSpec:
    params: [{name: where}]
    workspaces: [{name: ws}]
    tasks:
      - name: write
        workspaces: [{name: out, workspace: ws, subPath: $(params.where)}]
        taskSpec:
          workspaces: [{name: out}]
          steps: [{name: s, script: echo there > $(workspaces.out.path)/f}]
      - name: read
        runAfter: [write]
        workspaces: [{name: all, workspace: ws}]
        taskSpec:
          workspaces: [{name: all}]
          steps: [{name: s, script: cat $(workspaces.all.path)/dir-2/f}]
"""


def test_a_workspace_subpath_may_name_a_param(tmp_path: Path) -> None:
    record, lines = _run(None, SUBPATHS, tmp_path)
    assert record["conclusion"] == "success", lines
    assert "[read] [step-s] there" in lines


WORKING_DIRS = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: wd}
spec:
  workspaces: [{name: src, emptyDir: {}}]
  taskSpec:
    workspaces: [{name: src}]
    steps:
      - name: default
        image: busybox
        script: echo "pwd=$(pwd)"
      - name: set
        image: busybox
        workingDir: $(workspaces.src.path)/made/here
        script: |
          echo "pwd=$(pwd)"
          touch marker
      - name: check
        image: busybox
        script: ls $(workspaces.src.path)/made/here
"""


def test_a_steps_working_dir_defaults_to_workspace_and_is_made_when_missing(
    tmp_path: Path, podman: dict[str, str], hub_busybox: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SHIPWAY_REGISTRY_ALIASES", f"docker.io={hub_busybox}")
    record, lines = _run(None, WORKING_DIRS, tmp_path, executor="podman", podman_env=podman)
    assert record["conclusion"] == "success", lines
    assert "[step-default] pwd=/workspace" in lines
    assert "[step-set] pwd=/workspace/src/made/here" in lines
    assert "[step-check] marker" in lines
