"""A Tekton PipelineRun on the podman executor, its driver killed mid-run, resumes.

The driver (a separate process, as the controller runs it) is killed with
SIGKILL while the second task's step container sleeps; ``resume_run``
removes that container (named after the run, as every container of the run
is), the first task is not run again and its result and workspace reach the
second, which runs again in a new container.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from killed_runs import kill_group_once
from shipway.ci.service import resume_run, unfinished_runs
from shipway.settings import Settings
from shipway.store.db import Store, open_store
from shipway.store.runs import get_run, get_state

pytestmark = pytest.mark.integration

RUN = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: boxed
spec:
  workspaces:
    - {name: data, emptyDir: {}}
  pipelineSpec:
    workspaces: [{name: data}, {name: marks}]
    tasks:
      - name: first
        workspaces: [{name: d, workspace: data}, {name: m, workspace: marks}]
        taskSpec:
          workspaces: [{name: d}, {name: m}]
          results: [{name: v}]
          steps:
            - name: make
              image: IMAGE
              script: |
                echo a >> $(workspaces.m.path)/first-runs
                echo built > $(workspaces.d.path)/out.txt
                printf from-first > $(results.v.path)
      - name: second
        runAfter: [first]
        params: [{name: v, value: $(tasks.first.results.v)}]
        workspaces: [{name: d, workspace: data}, {name: m, workspace: marks}]
        taskSpec:
          params: [{name: v}]
          workspaces: [{name: d}, {name: m}]
          steps:
            - name: wait
              image: IMAGE
              script: |
                if [ -f $(workspaces.m.path)/second-started ]; then
                  echo "second resumed with $(params.v) and $(cat $(workspaces.d.path)/out.txt)"
                else
                  touch $(workspaces.m.path)/second-started
                  sleep 120
                fi
"""

DRIVER = """
import json, sys
from pathlib import Path
from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.runtime.host import Cancel
from shipway.settings import Settings
from shipway.store.db import open_store

text, home, work, marks, env = sys.argv[1:6]
store = open_store(Settings(home=Path(home), database_url=""))
opts = RunOptions(base_dir=Path(work), pvc_dir=Path(work) / "pvc", executor="podman",
                  podman_home=Path(home) / "podman", podman_env=json.loads(env),
                  workspaces={"marks": Path(marks)})
run_files(store, [(text, "run.yaml")], opts, Cancel())
"""


def _running(podman: dict[str, str]) -> list[str]:
    out = subprocess.run(["podman", "ps", "--format", "{{.Names}}"], env={**os.environ, **podman},
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.split()


def test_a_killed_podman_pipelinerun_resumes(tmp_path: Path, shipway_home: Path,
                                             podman: dict[str, str],
                                             busybox_image: str) -> None:  # fmt: skip
    marks = tmp_path / "marks"
    marks.mkdir()
    before = set(_running(podman))
    args = [RUN.replace("IMAGE", busybox_image), str(shipway_home), str(tmp_path / "work"),
            str(marks), json.dumps(podman)]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    kill_group_once(proc, (marks / "second-started").exists, "task second never started", 4800)
    [left] = set(_running(podman)) - before  # the step's container lives on
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    [run_id] = unfinished_runs(store)
    assert left.startswith(f"shipway-ci-{run_id}-")
    found = get_state(store, "ci", run_id)
    assert found is not None
    nodes = found[1]["pipelinerun"]["scheduler"]["nodes"]
    assert nodes["first"]["status"] == "success" and nodes["second"]["status"] == "running"
    lines: list[str] = []
    record = resume_run(store, run_id, secrets={}, on_line=lines.append)
    assert record["conclusion"] == "success", lines
    assert any("second resumed with from-first and built" in ln for ln in lines), lines
    assert any(f"removed 1 container(s) the interrupted run left: {left}" in ln
               for ln in lines), lines  # fmt: skip
    assert left not in _running(podman)
    assert (marks / "first-runs").read_text() == "a\n"
    assert [j["id"] for j in record["jobs"]] == ["first", "second"]
    assert record["status"]["conditions"][0]["reason"] == "Succeeded"
    assert unfinished_runs(store) == []
    _, log = get_run(store, run_id)
    assert "second resumed with from-first and built" in log
