"""The neutral scheduler's own cost: compile a plan and drive it to the end, no job run.

For each syntax a synthetic plan of N nodes: a GitLab pipeline of N jobs over 10
stages (each job waits for every job of the earlier stages: the densest graph
GitLab makes), a Tekton Pipeline of N tasks in a chain with a ``when`` on every
other one, a GitHub workflow of N jobs each needing the one before. The figure
is the time to parse and compile (shown apart) and then run ``decide``/``finish`` one node at a time
(as the sequential GitLab runner does) until every node ended, wall and
process CPU, median of ``--repeat`` runs, and per node.

    .venv/bin/python bench/ci_scheduler.py [--nodes 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.neutral import github, gitlab, scheduler, tekton
from shipway.ci.neutral.model import Plan
from shipway.ci.syntax.github import parse_workflow


def _gitlab(n: int) -> tuple[Plan, scheduler.Rules]:
    stages = [f"s{i}" for i in range(10)]
    lines = [f"stages: [{', '.join(stages)}]"]
    lines += [f"j{i}: {{stage: s{i * 10 // n}, script: ['true']}}" for i in range(n)]
    text = "\n".join(lines) + "\n"
    pipe = parse_pipeline(".gitlab-ci.yml", {".gitlab-ci.yml": text}.get, [".gitlab-ci.yml"])
    planned = plan_pipeline(pipe, Context(Facts(sha="a" * 40, ref="main")))
    return gitlab.compile_pipeline(pipe, planned), gitlab.GitLabRules()


def _tekton(n: int) -> tuple[Plan, scheduler.Rules]:
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        t: dict[str, Any] = {"name": f"t{i}", "taskRef": {"name": "x"}}
        if i:
            t["runAfter"] = [f"t{i - 1}"]
        if i % 2:
            t["when"] = [{"input": "$(params.env)", "operator": "in", "values": ["dev"]}]
        tasks.append(t)
    return tekton.compile_pipeline({"tasks": tasks}), tekton.TektonRules({"params.env": "dev"})


def _github(n: int) -> tuple[Plan, scheduler.Rules]:
    jobs = [f"  j{i}: {{runs-on: x, {f'needs: j{i - 1}, ' if i else ''}steps: [{{run: 'true'}}]}}"
            for i in range(n)]  # fmt: skip
    wf = parse_workflow("on: push\njobs:\n" + "\n".join(jobs) + "\n", "ci.yml")
    return github.compile_workflow(wf), github.GitHubRules()


def drive(make: Callable[[int], tuple[Plan, scheduler.Rules]], n: int) -> tuple[int, int, float]:
    c0 = time.process_time()
    plan, rules = make(n)
    compiled = time.process_time() - c0
    state = scheduler.State.new(plan)
    decisions = 0
    while True:
        found = scheduler.decide(plan, state, rules)
        if not found:
            break
        v = found[0]
        decisions += 1
        if v.action == "run":
            state.finish(v.node, scheduler.SUCCESS)
        else:
            scheduler.apply(state, v)
    return decisions, sum(1 for s in state.nodes.values() if s.done), compiled


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for name, make in (("gitlab", _gitlab), ("tekton", _tekton), ("github", _github)):
        walls, cpus, compiles = [], [], []
        for _ in range(args.repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            decisions, ended, compiled = drive(make, args.nodes)
            compiles.append(compiled)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        assert ended == args.nodes, (name, ended)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(
            f"{name:7s} {args.nodes} nodes, {decisions} decisions: wall {wall * 1000:.1f} ms, "
            f"cpu {cpu * 1000:.1f} ms (of which parse+compile "
            f"{statistics.median(compiles) * 1000:.1f} ms; {cpu / args.nodes * 1e6:.0f} us "
            "cpu per node)"
        )


if __name__ == "__main__":
    main()
