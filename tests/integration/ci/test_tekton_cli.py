"""``shipway ci run -f RUN.yaml`` from the command line: the record, exit codes, bad input,
and the controller's refusal of Tekton resources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipway.model import resources
from shipway.model.errors import ResourceError
from shipway.model.yamlsrc import load_one

pytestmark = pytest.mark.integration
SHIPWAY = str(Path(sys.executable).parent / "shipway")

RUN = """\
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata:
  name: hello
spec:
  timeout: 10m
  params:
    - {name: who, value: file}
  workspaces:
    - {name: data, emptyDir: {}}
  pipelineSpec:
    params: [{name: who}]
    workspaces: [{name: data}]
    results:
      - {name: said, value: $(tasks.say.results.said)}
    tasks:
      - name: say
        workspaces: [{name: d, workspace: data}]
        taskSpec:
          workspaces: [{name: d}]
          results: [{name: said}]
          steps:
            - name: say
              script: |
                printf 'hi %s' "$(params.who)" | tee $(results.said.path)
                ls $(workspaces.d.path)
"""


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SHIPWAY, "ci", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_run_param_workspace_and_json_record(tmp_path: Path, shipway_home: Path) -> None:
    (tmp_path / "run.yaml").write_text(RUN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "marker.txt").write_text("x")
    done = _cli(["-f", "run.yaml", "--param", "who=cli", "--workspace", f"data={data}",
                 "-o", "json"], tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["kind"] == "PipelineRun" and record["conclusion"] == "success"
    assert record["results"] == {"said": "hi cli"}
    assert record["status"]["results"] == [{"name": "said", "value": "hi cli"}]
    assert record["jobs"][0]["steps"][0]["conclusion"] == "success"
    assert "marker.txt" in done.stderr  # the step saw the bound directory
    listed = subprocess.run([SHIPWAY, "ci", "list", "-o", "json"], cwd=tmp_path,
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert record["id"] in {r["id"] for r in json.loads(listed.stdout)["items"]}


def test_a_failed_run_exits_1_and_bad_input_exits_2(tmp_path: Path, shipway_home: Path) -> None:
    (tmp_path / "fail.yaml").write_text(RUN.replace("ls $(workspaces.d.path)", "exit 4"))
    done = _cli(["-f", "fail.yaml"], tmp_path)
    assert done.returncode == 1
    assert "PipelineRun/hello  Failed  Tasks Completed: 1 (Failed: 1, Cancelled 0)" in done.stdout
    bad = RUN.replace(
        "    tasks:\n", "    tasks:\n      - name: Bad_Name\n        taskRef: {name: x}\n"
    )
    bad = bad.replace("  timeout: 10m", "  timeout: 10 minutes\n  timeot: 1")
    (tmp_path / "bad.yaml").write_text(bad)
    done = _cli(["-f", "bad.yaml"], tmp_path)
    assert done.returncode == 2
    assert "bad.yaml:6:3: invalid value: 10 minutes: spec.timeout" in done.stderr
    assert 'bad.yaml:7:3: unknown field "spec.timeot"' in done.stderr
    assert "spec.pipelineSpec.tasks[0].name (a DNS-1123 label)" in done.stderr
    assert "Task 'x' is not defined in the files given" in done.stderr


def test_apply_refuses_tekton_resources_clearly() -> None:
    doc = load_one("apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {}\n",
                   "p.yaml")  # fmt: skip
    with pytest.raises(ResourceError, match="shipway ci run -f FILE") as exc:
        resources.from_located(doc)
    assert str(exc.value).startswith("p.yaml:1:1: tekton.dev/v1 Pipeline is not stored")


PAC = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: on-push
  annotations:
    pipelinesascode.tekton.dev/on-event: "[push]"
    pipelinesascode.tekton.dev/on-target-branch: "[main]"
spec:
  pipelineRef: {name: show}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: on-pr
  annotations:
    pipelinesascode.tekton.dev/on-event: "[pull_request]"
    pipelinesascode.tekton.dev/on-target-branch: "[main]"
spec:
  pipelineRef: {name: show}
"""
SHOW = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: show}
spec:
  tasks:
    - name: show
      taskSpec:
        steps:
          - name: s
            script: echo "revision {{ revision }} of {{ repo_name }} on {{ target_branch }}"
"""


def test_the_controller_runs_tekton_pipelineruns_as_pipelines_as_code(
    store: Any, tmp_path: Path, new_repo: Any
) -> None:
    from shipway.ci.service import run_event
    from shipway.store.runs import get_run

    repo, commit = new_repo(tmp_path / "src", {".github/workflows/tekton.yaml": RUN,
                                               ".tekton/runs.yaml": PAC,
                                               ".tekton/show.yaml": SHOW})  # fmt: skip
    lines: list[str] = []
    records = run_event(store, repo=str(repo.path), commit=commit, ref="refs/heads/main",
                        event="push", payload={"ref": "refs/heads/main"},
                        workdir=tmp_path / "work", vars={}, secrets={}, on_line=lines.append,
                        pipeline="web")  # fmt: skip
    assert [r["conclusion"] for r in records] == ["failure", "success"]
    assert "runs Tekton PipelineRuns from .tekton/" in records[0]["error"]
    assert "shipway ci run -f .github/workflows/tekton.yaml" in records[0]["error"]
    run = records[1]
    assert (run["kind"], run["name"], run["pipeline"]) == ("PipelineRun", "on-push", "web")
    assert f"[show] [step-s] revision {commit} of src on main" in lines
    assert get_run(store, run["id"])[0]["status"]["conditions"][0]["reason"] == "Succeeded"
    from shipway.controller import signing

    found = signing._run_of(store, commit)  # the run an image of this commit was built by
    assert found is not None and found[0] == run["id"]


def test_a_pull_request_runs_the_pull_request_pipelinerun_on_its_head(
    store: Any, tmp_path: Path, new_repo: Any
) -> None:
    from shipway.ci.service import run_event

    repo, _ = new_repo(tmp_path / "src", {".tekton/runs.yaml": PAC, ".tekton/show.yaml": SHOW})
    repo.run("checkout", "-q", "-b", "feature")
    (repo.path / "NEW").write_text("x\n")
    repo.add_all()
    head = repo.commit("feature")
    repo.run("checkout", "-q", "main")
    lines: list[str] = []
    records = run_event(store, repo=str(repo.path), commit=head, ref="refs/pull/1/merge",
                        event="pull_request", payload={"pull_request": {"number": 1}},
                        workdir=tmp_path / "work", vars={}, secrets={}, on_line=lines.append,
                        merge_into="main")  # fmt: skip
    assert [(r["name"], r["conclusion"]) for r in records] == [("on-pr", "success")]
    assert f"[show] [step-s] revision {head} of src on main" in lines
