"""Tekton's propagation into embedded specs, run by shipway on the host executor.

Tekton substitutes a run's params (and a pipeline's, and a pipeline task's) into an
embedded ``taskSpec`` that does not declare them, binds the run's workspaces to the
embedded specs whose steps name them, splices an array param written whole as a
``command``/``args`` element (``$(params.a)`` as ``$(params.a[*])``) and fills in
``onError: $(params.x)``. The resources are written for this test in the shape of the
pipeline's documentation (``pipelines.md``, ``taskruns.md``: "Propagated Parameters",
"Propagated Workspaces").
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.model.errors import InputError
from shipway.runtime.host import Cancel

pytestmark = pytest.mark.integration


def _run(text: str, tmp_path: Path, **kw: Any) -> tuple[dict[str, Any], list[str]]:
    lines: list[str] = []
    opts = RunOptions(base_dir=tmp_path / "ci", pvc_dir=tmp_path / "pvc", on_line=lines.append,
                      podman_home=tmp_path / "podman-home", **kw)  # fmt: skip
    (record,) = run_files(None, [(textwrap.dedent(text), "run.yaml")], opts, Cancel())
    return record, lines


TASKRUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  generateName: propagate-
spec:
  params:
    - name: message
      value: hello from the run
    - name: words
      value: [one, two]
    - name: settle
      value: continue
  workspaces:
    - name: scratch
      emptyDir: {}
  taskSpec:
    steps:
      - name: say
        image: busybox
        script: |
          echo "said: $(params.message)"
          echo kept > $(workspaces.scratch.path)/file
      - name: split
        image: busybox
        command: [sh, -c, 'echo "argc=$#"', sh]
        args: ["$(params.words)"]
      - name: may-fail
        image: busybox
        onError: $(params.settle)
        script: exit 3
      - name: read
        image: busybox
        script: |
          echo "read: $(cat $(workspaces.scratch.path)/file)"
"""


def test_a_taskrun_propagates_its_params_and_workspaces(tmp_path: Path) -> None:
    record, lines = _run(TASKRUN, tmp_path)
    assert record["conclusion"] == "success", "\n".join(lines)
    assert "[step-say] said: hello from the run" in lines
    assert "[step-split] argc=2" in lines
    assert "[step-read] read: kept" in lines
    steps = record["status"]["steps"]
    assert [s["terminated"]["exitCode"] for s in steps] == [0, 0, 3, 0]


def test_an_on_error_param_outside_the_enum_fails_the_taskrun(tmp_path: Path) -> None:
    record, _ = _run(TASKRUN.replace("value: continue", "value: carry-on"), tmp_path)
    cond = record["status"]["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "TaskRunValidationFailed")
    assert "'carry-on'" in cond["message"] and "onError" in cond["message"]


PIPELINERUN = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  generateName: propagate-
spec:
  params:
    - name: greeting
      value: pipeline hello
    - name: repo
      value: {url: "https://example.test/app.git", branch: main}
  workspaces:
    - name: shared
      emptyDir: {}
  pipelineSpec:
    tasks:
      - name: write
        taskSpec:
          steps:
            - name: w
              image: busybox
              script: |
                echo "$(params.greeting) of $(params.repo.url)@$(params.repo.branch)"
                echo written > $(workspaces.shared.path)/note
      - name: own-value
        runAfter: [write]
        params:
          - name: greeting
            value: task hello
          - name: extra
            value: only the task's
        taskSpec:
          steps:
            - name: o
              image: busybox
              script: |
                echo "$(params.greeting), $(params.extra), $(cat $(workspaces.shared.path)/note)"
    finally:
      - name: report
        params:
          - name: how
            value: $(tasks.own-value.status)
        taskSpec:
          steps:
            - name: r
              image: busybox
              script: |
                echo "report: $(params.how) $(params.greeting)"
"""


def test_a_pipelinerun_propagates_params_and_workspaces_into_embedded_specs(
    tmp_path: Path,
) -> None:
    record, lines = _run(PIPELINERUN, tmp_path)
    assert record["conclusion"] == "success", "\n".join(lines)
    assert "[write] [step-w] pipeline hello of https://example.test/app.git@main" in lines
    assert "[own-value] [step-o] task hello, only the task's, written" in lines
    assert "[report] [step-r] report: Succeeded pipeline hello" in lines


PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: uses-shared
spec:
  workspaces:
    - name: shared
  tasks:
    - name: list
      taskSpec:
        steps:
          - name: ls
            image: busybox
            command: [ls]
            args: ["$(workspaces.shared.path)"]
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: uses-shared-run
spec:
  pipelineRef: {name: uses-shared}
  workspaces:
    - name: shared
      persistentVolumeClaim: {claimName: shared-claim}
"""


def test_a_pipelines_workspace_reaches_an_embedded_task_without_a_binding(
    tmp_path: Path,
) -> None:
    (tmp_path / "pvc" / "shared-claim").mkdir(parents=True)
    (tmp_path / "pvc" / "shared-claim" / "in-the-claim").write_text("x")
    record, lines = _run(PIPELINE, tmp_path)
    assert record["conclusion"] == "success", "\n".join(lines)
    assert "[list] [step-ls] in-the-claim" in lines


def test_a_name_no_scope_gives_is_still_refused() -> None:
    with pytest.raises(InputError) as exc:
        _run(PIPELINERUN.replace("$(params.extra)", "$(params.extar)"), Path("/nonexistent"))
    assert "run.yaml:35:15:" in str(exc.value) and "$(params.extar)" in str(exc.value)
    with pytest.raises(InputError, match=r"\$\(workspaces\.other\.path\)"):
        _run(TASKRUN.replace("$(workspaces.scratch.path)/file)", "$(workspaces.other.path)/f)"),
             Path("/nonexistent"))  # fmt: skip
