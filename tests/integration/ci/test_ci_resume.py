"""A run whose process dies resumes from its stored engine state (finished jobs are kept)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from killed_runs import kill_group_once
from shipway.ci.service import resume_run, unfinished_runs
from shipway.git.repo import Repo
from shipway.runtime.services import pid_alive
from shipway.settings import Settings
from shipway.store.db import Store, open_store
from shipway.store.runs import get_run

MakeRepo = Callable[[Path, dict[str, str]], tuple[Repo, str]]

WORKFLOW = """\
on: push
jobs:
  a:
    runs-on: x
    outputs: {v: "${{ steps.s.outputs.v }}"}
    steps:
      - id: s
        run: echo a >> "$MARKS/a-runs"; echo "v=from-a" >> "$GITHUB_OUTPUT"
  b:
    needs: a
    runs-on: x
    steps:
      - run: |
          if [ -f "$MARKS/b-started" ]; then echo "b resumed with ${{ needs.a.outputs.v }}"
          else echo $$ > "$MARKS/b-pid"; touch "$MARKS/b-started"; sleep 60; fi
"""

DRIVER = """
import sys
from pathlib import Path
from shipway.ci.runinfo import RunInfo
from shipway.ci.service import run_workflow
from shipway.ci.syntax.github import parse_workflow
from shipway.settings import Settings
from shipway.store.db import open_store

src, commit, base, home, marks = sys.argv[1:6]
store = open_store(Settings(home=Path(home), database_url=""))
name = ".github/workflows/ci.yml"
wf = parse_workflow((Path(src) / name).read_text(), name)
info = RunInfo(run_id="resume1", repo=src, commit=commit, ref="refs/heads/main", event="push",
               payload={"ref": "refs/heads/main"}, base_dir=Path(base), env={"MARKS": marks},
               secrets={"S": "sekrit"})
run_workflow(store, wf, info)
"""


def test_killed_run_resumes(tmp_path: Path, shipway_home: Path, new_repo: MakeRepo) -> None:
    src = tmp_path / "src"
    _repo, commit = new_repo(src, {".github/workflows/ci.yml": WORKFLOW})
    marks = tmp_path / "marks"
    marks.mkdir()
    args = [str(src), commit, str(tmp_path / "run"), str(shipway_home), str(marks)]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    kill_group_once(proc, (marks / "b-started").exists, "job b never started", 600)
    orphan = int((marks / "b-pid").read_text())
    assert pid_alive(orphan)  # still there until the resume stops it
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    assert unfinished_runs(store) == ["resume1"]
    partial, _ = get_run(store, "resume1")
    assert partial["status"] == "in_progress" and partial["jobs"][0]["result"] == "success"
    lines: list[str] = []
    record = resume_run(store, "resume1", secrets={"S": "sekrit"}, on_line=lines.append)
    assert record["conclusion"] == "success", lines
    assert [j["result"] for j in record["jobs"]] == ["success", "success"]
    assert (marks / "a-runs").read_text() == "a\n"  # job a did not run again
    assert any("b resumed with from-a" in ln for ln in lines)
    assert any("stopped 1 step process(es) the interrupted run left" in ln for ln in lines)
    assert not pid_alive(orphan)
    assert unfinished_runs(store) == []
