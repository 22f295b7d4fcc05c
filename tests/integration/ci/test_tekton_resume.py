"""A Tekton PipelineRun whose controller dies resumes from its stored scheduler state.

A separate process (as the controller runs it) is killed with SIGKILL while
the second task runs; ``resume_run`` finishes the run: the tasks that ended
are not run again and their results reach the task that runs again, the
emptyDir workspace is kept, the step process the dead run left is stopped,
the status lists every TaskRun once. The same through ``shipway ci run -f``
killed and ``shipway ci resume RUN``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from killed_runs import kill_group_once
from shipway.ci.service import resume_run, unfinished_runs
from shipway.runtime.services import pid_alive
from shipway.settings import Settings
from shipway.store.db import Store, open_store
from shipway.store.runs import get_run, get_state

pytestmark = pytest.mark.integration
SHIPWAY = str(Path(sys.executable).parent / "shipway")

RUN = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: resumable
spec:
  params:
    - {name: marks, value: MARKS}
  workspaces:
    - {name: data, emptyDir: {}}
  pipelineSpec:
    params: [{name: marks}]
    workspaces: [{name: data}]
    results:
      - {name: said, value: $(tasks.second.results.said)}
    tasks:
      - name: first
        workspaces: [{name: d, workspace: data}]
        taskSpec:
          workspaces: [{name: d}]
          results: [{name: v}]
          steps:
            - name: make
              script: |
                echo a >> $(params.marks)/first-runs
                echo built > $(workspaces.d.path)/out.txt
                printf from-first > $(results.v.path)
      - name: side
        taskSpec:
          steps:
            - {name: s, script: "echo s >> $(params.marks)/side-runs"}
      - name: second
        runAfter: [first, side]
        params: [{name: v, value: $(tasks.first.results.v)}]
        workspaces: [{name: d, workspace: data}]
        taskSpec:
          params: [{name: v}]
          workspaces: [{name: d}]
          results: [{name: said}]
          steps:
            - name: wait
              script: |
                if [ -f $(params.marks)/second-started ]; then
                  echo "second resumed with $(params.v) and $(cat $(workspaces.d.path)/out.txt)"
                  printf ok > $(results.said.path)
                else
                  echo $$ > $(params.marks)/second-pid; touch $(params.marks)/second-started
                  sleep 60
                fi
    finally:
      - name: report
        params: [{name: s, value: $(tasks.status)}]
        taskSpec:
          params: [{name: s}]
          steps:
            - {name: r, script: "echo report $(params.s)"}
"""

DRIVER = """
import sys
from pathlib import Path
from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.runtime.host import Cancel
from shipway.settings import Settings
from shipway.store.db import open_store

text, home, work = sys.argv[1:4]
store = open_store(Settings(home=Path(home), database_url=""))
opts = RunOptions(base_dir=Path(work), pvc_dir=Path(work) / "pvc",
                  podman_home=Path(home) / "podman", env={"PATH": "/usr/bin:/bin"})
run_files(store, [(text, "run.yaml")], opts, Cancel())
"""


def _kill_when_started(proc: subprocess.Popen[bytes], marks: Path) -> None:
    started = [marks / "wait-started", marks / "second-started"]
    kill_group_once(proc, lambda: any(m.exists() for m in started),
                    "task second never started", 2400)  # fmt: skip


def test_a_killed_pipelinerun_resumes(tmp_path: Path, shipway_home: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    text = RUN.replace("MARKS", str(marks))
    args = [text, str(shipway_home), str(tmp_path / "work")]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    _kill_when_started(proc, marks)
    orphan = int((marks / "second-pid").read_text())
    assert pid_alive(orphan)  # until the resume stops it
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    [run_id] = unfinished_runs(store)
    found = get_state(store, "ci", run_id)
    assert found is not None and found[0] == "running"
    nodes = found[1]["pipelinerun"]["scheduler"]["nodes"]
    assert nodes["first"]["status"] == "success" and nodes["second"]["status"] == "running"
    partial, _ = get_run(store, run_id)  # the record so far: the controller sees it under way
    assert partial["conclusion"] == "" and partial["status"]["conditions"][0]["reason"] == (
        "Running")  # fmt: skip
    assert sorted(j["id"] for j in partial["jobs"]) == ["first", "side"]
    lines: list[str] = []
    record = resume_run(store, run_id, secrets={}, on_line=lines.append)
    assert record["conclusion"] == "success", lines
    assert any("stopped 1 step process(es) the interrupted run left" in ln for ln in lines)
    assert not pid_alive(orphan)
    assert any("second resumed with from-first and built" in ln for ln in lines), lines
    assert any("report Succeeded" in ln for ln in lines), lines
    assert (marks / "first-runs").read_text() == "a\n"  # first did not run again
    assert (marks / "side-runs").read_text() == "s\n"
    status = record["status"]
    assert status["conditions"][0]["reason"] == "Succeeded"
    assert sorted(c["pipelineTaskName"] for c in status["childReferences"]) == [
        "first", "report", "second", "side"]  # fmt: skip
    assert record["results"] == {"said": "ok"}
    assert [j["id"] for j in record["jobs"]] == ["first", "side", "second", "report"]
    assert unfinished_runs(store) == []
    assert not (tmp_path / "work" / "tekton-resumable").exists()  # removed once done


def _propagated(run: str) -> str:
    """``run`` leaning on Tekton's propagation: the embedded specs declare and bind nothing."""
    out = run.replace("    params: [{name: marks}]\n    workspaces: [{name: data}]\n", "")
    out = out.replace("        workspaces: [{name: d, workspace: data}]\n", "")
    out = out.replace("          workspaces: [{name: d}]\n", "")
    out = out.replace("$(workspaces.d.path)", "$(workspaces.data.path)")
    return out.replace(
        "params: [{name: s, value: $(tasks.status)}]",
        'params: [{name: s, value: "$(tasks.status) $(workspaces.data.bound)"}]',
    )


def test_a_killed_pipelinerun_of_propagated_params_and_workspaces_resumes(
    tmp_path: Path, shipway_home: Path,
) -> None:  # fmt: skip
    marks = tmp_path / "marks"
    marks.mkdir()
    text = _propagated(RUN).replace("MARKS", str(marks))
    assert "workspace: data" not in text and "{name: marks}" not in text
    args = [text, str(shipway_home), str(tmp_path / "work")]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    _kill_when_started(proc, marks)
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    [run_id] = unfinished_runs(store)
    lines: list[str] = []
    record = resume_run(store, run_id, secrets={}, on_line=lines.append)
    assert record["conclusion"] == "success", lines
    assert any("second resumed with from-first and built" in ln for ln in lines), lines
    assert any("report Succeeded true" in ln for ln in lines), lines
    assert (marks / "first-runs").read_text() == "a\n"


def test_a_killed_ci_run_resumes_with_ci_resume(tmp_path: Path, shipway_home: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "run.yaml").write_text(RUN.replace("MARKS", str(marks)))
    proc = subprocess.Popen([SHIPWAY, "ci", "run", "-f", "run.yaml"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    _kill_when_started(proc, marks)
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    [run_id] = unfinished_runs(store)
    done = subprocess.run([SHIPWAY, "ci", "resume", run_id, "-o", "json"], cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "second resumed with from-first and built" in done.stderr
    record = json.loads(done.stdout)
    assert record["kind"] == "PipelineRun" and record["id"] == run_id
    assert record["status"]["conditions"][0]["reason"] == "Succeeded"
    assert (marks / "first-runs").read_text() == "a\n"
    assert unfinished_runs(store) == []


def test_a_restarted_controller_finishes_the_run(tmp_path: Path, shipway_home: Path) -> None:
    from shipway.controller.core import Controller

    marks = tmp_path / "marks"
    marks.mkdir()
    args = [RUN.replace("MARKS", str(marks)), str(shipway_home), str(tmp_path / "work")]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    _kill_when_started(proc, marks)
    settings = Settings(home=shipway_home, database_url="")
    store: Store = open_store(settings)
    [run_id] = unfinished_runs(store)
    controller = Controller(settings, store)
    try:
        controller.resume_interrupted()
    finally:
        controller.shutdown()
    record, log = get_run(store, run_id)
    assert record["conclusion"] == "success", log
    assert "second resumed with from-first and built" in log, log
    assert "stopped 1 step process(es) the interrupted run left" in log, log
    assert (marks / "first-runs").read_text() == "a\n"
    assert unfinished_runs(store) == []


STOPPING = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: stopping
spec:
  pipelineSpec:
    tasks:
      - name: long
        taskSpec:
          steps:
            - name: w
              script: |
                if [ -f MARKS/long-started ]; then echo "long ran again"
                else touch MARKS/long-started; sleep 60; fi
      - name: fails
        taskSpec:
          steps:
            - name: f
              script: |
                while [ ! -f MARKS/long-started ]; do sleep 0.05; done
                exit 3
      - name: after
        runAfter: [long]
        taskSpec:
          steps: [{name: a, script: echo never}]
"""


def test_a_task_running_as_the_run_stopped_runs_again(tmp_path: Path,
                                                     shipway_home: Path) -> None:  # fmt: skip
    marks = tmp_path / "marks"
    marks.mkdir()
    args = [STOPPING.replace("MARKS", str(marks)), str(shipway_home), str(tmp_path / "work")]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    store: Store = open_store(Settings(home=shipway_home, database_url=""))

    def failed() -> bool:
        ids = unfinished_runs(store)
        found = get_state(store, "ci", ids[0]) if ids else None
        nodes = (found[1].get("pipelinerun") or {}).get("scheduler", {}).get(
            "nodes", {}) if found else {}  # fmt: skip
        return bool(nodes.get("fails", {}).get("status") == "failure")

    kill_group_once(proc, failed, "task fails never failed", 2400)
    [run_id] = unfinished_runs(store)
    lines: list[str] = []
    record = resume_run(store, run_id, secrets={}, on_line=lines.append)
    assert record["conclusion"] == "failure"
    assert any("long ran again" in ln for ln in lines), lines
    assert any("running again: long" in ln for ln in lines), lines
    status = record["status"]
    assert status["skippedTasks"] == [{"name": "after", "reason": "PipelineRun was stopping"}]
    assert sorted(c["pipelineTaskName"] for c in status["childReferences"]) == ["fails", "long"]


TASKRUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: lone
spec:
  workspaces:
    - {name: w, emptyDir: {}}
  taskSpec:
    workspaces: [{name: w}]
    results: [{name: r}]
    steps:
      - name: once
        script: |
          ls $(workspaces.w.path) > MARKS/seen-$(ls MARKS | wc -l)
          touch $(workspaces.w.path)/left
          echo x >> MARKS/once-runs
      - name: wait
        script: |
          if [ -f MARKS/wait-started ]; then printf done > $(results.r.path)
          else echo $$ > MARKS/second-pid; touch MARKS/wait-started; sleep 60; fi
"""


def test_a_killed_lone_taskrun_runs_again_from_the_start(tmp_path: Path,
                                                        shipway_home: Path) -> None:  # fmt: skip
    marks = tmp_path / "marks"
    marks.mkdir()
    args = [TASKRUN.replace("MARKS", str(marks)), str(shipway_home), str(tmp_path / "work")]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    _kill_when_started(proc, marks)
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    [run_id] = unfinished_runs(store)
    lines: list[str] = []
    record = resume_run(store, run_id, secrets={}, on_line=lines.append)
    assert record["conclusion"] == "success", lines
    assert record["kind"] == "TaskRun" and record["results"] == {"r": "done"}
    assert (marks / "once-runs").read_text() == "x\nx\n"  # every step again
    seen = sorted(p.read_text() for p in marks.glob("seen-*"))
    assert seen == ["", ""]  # a fresh emptyDir each time
    assert unfinished_runs(store) == []
