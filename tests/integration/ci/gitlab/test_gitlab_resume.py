"""A GitLab pipeline whose controller dies resumes from its stored scheduler state.

The run is started by a separate process (as the controller starts it) that is
killed with SIGKILL while the second job runs; ``resume_run`` then finishes it:
the first job is not run again, its dotenv and artifacts reach the second job,
the step process the dead run left is stopped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from killed_runs import kill_group_once
from shipway.ci.service import resume_run, unfinished_runs
from shipway.git.repo import Repo
from shipway.runtime.services import pid_alive
from shipway.settings import Settings
from shipway.store.db import Store, open_store
from shipway.store.runs import get_state

pytestmark = pytest.mark.integration

MakeRepo = Callable[[Path, dict[str, str]], tuple[Repo, str]]

PIPELINE = """\
stages: [build, test, report]
build:
  stage: build
  script:
    - echo a >> "$MARKS/build-runs"
    - echo "V=from-build" > build.env
    - echo built > out.txt
  artifacts:
    paths: [out.txt]
    reports: {dotenv: build.env}
test:
  stage: test
  script:
    - |
      if [ -f "$MARKS/test-started" ]; then echo "test resumed with $V and $(cat out.txt)"
      else echo $$ > "$MARKS/test-pid"; touch "$MARKS/test-started"; sleep 60; fi
report:
  stage: report
  when: on_failure
  script: [echo never]
"""

DRIVER = """
import sys
from pathlib import Path
from typing import Any
from shipway.ci import gitlab_event
from shipway.settings import Settings
from shipway.store.db import open_store

src, commit, batch, home, marks = sys.argv[1:6]
store = open_store(Settings(home=Path(home), database_url=""))
gitlab_event.run_checkout(store, Path(src), repo=src, commit=commit, ref="refs/heads/main",
                          event="push", payload={}, batch=Path(batch), changed=None,
                          env={"MARKS": marks, "PATH": "/usr/bin:/bin"})
"""


def test_killed_gitlab_run_resumes(tmp_path: Path, shipway_home: Path,
                                   new_repo: MakeRepo) -> None:  # fmt: skip
    src = tmp_path / "src"
    _repo, commit = new_repo(src, {".gitlab-ci.yml": PIPELINE})
    marks = tmp_path / "marks"
    marks.mkdir()
    args = [str(src), commit, str(tmp_path / "event-1"), str(shipway_home), str(marks)]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], start_new_session=True)
    kill_group_once(proc, (marks / "test-started").exists, "job test never started", 1200)
    orphan = int((marks / "test-pid").read_text())
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    [run_id] = unfinished_runs(store)
    found = get_state(store, "ci", run_id)
    assert found is not None and found[0] == "running"
    nodes = found[1]["scheduler"]["nodes"]
    assert nodes["build"]["status"] == "success" and nodes["test"]["status"] == "pending"
    lines: list[str] = []
    record = resume_run(store, run_id, secrets={}, on_line=lines.append)
    assert record["conclusion"] == "success", lines
    assert [(j["name"], j["status"]) for j in record["jobs"]] == [
        ("build", "success"), ("test", "success"), ("report", "skipped")]  # fmt: skip
    assert (marks / "build-runs").read_text() == "a\n"  # build did not run again
    assert any("test resumed with from-build and built" in ln for ln in lines), lines
    assert any("stopped 1 step process(es) the interrupted run left" in ln for ln in lines)
    assert not pid_alive(orphan)
    assert unfinished_runs(store) == []
    assert get_state(store, "ci", run_id) is not None


def test_a_killed_shipway_ci_run_resumes_with_ci_resume(tmp_path: Path, shipway_home: Path,
                                                         new_repo: MakeRepo) -> None:  # fmt: skip
    src = tmp_path / "src"
    new_repo(src, {".gitlab-ci.yml": PIPELINE})
    marks = tmp_path / "marks"
    marks.mkdir()
    shipway = str(Path(sys.executable).parent / "shipway")
    env = dict(os.environ)
    proc = subprocess.Popen([shipway, "ci", "run", "--gitlab", "--var", f"MARKS={marks}"],
                            cwd=src, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    kill_group_once(proc, (marks / "test-started").exists, "job test never started", 1200)
    store: Store = open_store(Settings(home=shipway_home, database_url=""))
    [run_id] = unfinished_runs(store)
    done = subprocess.run([shipway, "ci", "resume", run_id, "-o", "json"], cwd=src, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "test resumed with from-build and built" in done.stderr
    assert (marks / "build-runs").read_text() == "a\n"
    assert unfinished_runs(store) == []


def test_a_stored_state_resumes_a_run_of_jobs_at_once(tmp_path: Path) -> None:
    """The state after the first job, given back to a runner with ``concurrency: 2``: the
    ended job keeps its record and dotenv, the others run at once (``needs`` still hold)."""
    from gitlab_pipelines import committed, facts

    from shipway.ci.gitlab.plan import Context, plan_pipeline
    from shipway.ci.gitlab_run import PipelineRun, RunSpec

    text = """\
        stages: [build, test]
        build:
          stage: build
          script: ['echo x >> "$MARKS/build-runs"', 'echo V=one > b.env']
          artifacts: {reports: {dotenv: b.env}}
        left: {stage: test, script: ['echo "left $V"']}
        right: {stage: test, needs: [build], script: ['echo "right $V"']}
        """  # fmt: skip
    src = tmp_path / "src"
    pipe = committed(src, text)
    marks = tmp_path / "marks"
    marks.mkdir()
    found = facts()
    values = {"MARKS": str(marks)}
    plan = plan_pipeline(pipe, Context(found, files=[".gitlab-ci.yml"], variables=values))
    states: list[dict[str, Any]] = []

    def spec(concurrency: int, lines: list[str]) -> RunSpec:
        return RunSpec(run_id="r1", source=src, base_dir=tmp_path / "run", facts=found,
                       cache_root=tmp_path / "cache", variables=values, on_line=lines.append,
                       concurrency=concurrency, on_state=states.append)  # fmt: skip

    first: list[str] = []
    PipelineRun(pipe, plan, spec(1, first)).run()
    after_build = states[0]
    assert after_build["scheduler"]["nodes"]["build"]["results"] == {"V": "one"}
    states.clear()
    lines: list[str] = []
    record = PipelineRun(pipe, plan, spec(2, lines), prior=after_build).run()
    assert [(j["name"], j["status"]) for j in record["jobs"]] == [
        ("build", "success"), ("left", "success"), ("right", "success")]  # fmt: skip
    assert (marks / "build-runs").read_text() == "x\n"  # the first run only: not resumed
    assert "[right] right one" in lines and "[left] left one" in lines
    assert any(line.startswith("resumed: 1 job(s) had ended, 2 to go") for line in lines)
    assert [s["scheduler"]["nodes"]["build"]["status"] for s in states] == ["success"] * 2
