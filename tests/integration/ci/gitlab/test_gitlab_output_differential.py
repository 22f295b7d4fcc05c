"""Differential test: job output and status, shipway's runner against gitlab-ci-local's
shell executor, on the pipelines of ``pipelines/`` whose jobs need no image.

gitlab-ci-local prints a job's output as ``NAME > line`` and ends with ``PASS``,
``WARN`` (allowed failure) or ``FAIL`` per job; shipway runs the same checkout on
its host executor and must print the same lines per job and reach the same status.
(gitlab-ci-local sets ``GITLAB_CI=false``, saying it is not GitLab; shipway sets ``true``
as GitLab does, so no pipeline here prints it.)
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from gitlab_oracle import PIPELINES, all_files, changed_files, make_repo, missing, oracle

from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.gitlab_run import PipelineRun, RunSpec

RUN = [
    "01-minimal", "02-stages", "05-before-after", "08-variables", "09-extends-simple",
    "10-extends-deep-merge", "14-reference-script", "16-reference-nested",
    "26-rules-variables", "29-needs-dag", "32-parallel", "33-matrix",
    "35-allow-failure-exit-codes", "38-artifacts-dotenv", "45-script-string-and-multiline",
    "46-nested-script-arrays", "49-inherit-variables", "50-variable-expansion",
    "51-predefined-variables",
]  # fmt: skip
_SUMMARY = re.compile(r"^\s*(PASS|WARN|FAIL)\s+(.+?)(?:\s{2,}\S.*)?\s*$")  # WARN: then the part
STATUS = {"PASS": ("success", False), "WARN": ("failed", True), "FAIL": ("failed", False)}


def gitlab_name(name: str) -> str:
    m = re.fullmatch(r"(.*): \[(\d+)/(\d+)\]", name)
    if m:
        return f"{m.group(1)} {m.group(2)}/{m.group(3)}"
    m = re.fullmatch(r"(.*): \[(.*)\]", name)
    if m:
        return f"{m.group(1)}: [{', '.join(m.group(2).split(','))}]"
    return name


def parse_output(text: str) -> tuple[dict[str, list[str]], dict[str, tuple[str, bool]]]:
    summary: dict[str, tuple[str, bool]] = {}
    for line in text.splitlines():
        m = _SUMMARY.match(line)
        if m:
            summary[m.group(2)] = STATUS[m.group(1)]
    names = sorted(summary, key=len, reverse=True)
    output: dict[str, list[str]] = {}
    for line in text.splitlines():
        for name in names:
            if line.startswith(name):
                rest = line[len(name) :].lstrip(" ")
                if rest.startswith("> "):
                    output.setdefault(gitlab_name(name), []).append(rest[2:])
                elif rest == ">":
                    output.setdefault(gitlab_name(name), []).append("")
                break
    return output, {gitlab_name(k): v for k, v in summary.items()}


@pytest.fixture(scope="module")
def oracle_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    why = missing()
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("gitlab-run")

    def one(name: str) -> tuple[str, Any]:
        work = make_repo(PIPELINES / name, base / name)
        res = oracle(["--shell-isolation"], work)
        return name, (work, res.stdout + res.stderr)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, RUN))


@pytest.mark.parametrize("name", RUN)
def test_job_output_matches(name: str, oracle_runs: dict[str, Any], tmp_path: Path) -> None:
    work, text = oracle_runs[name]
    theirs, their_status = parse_output(text)
    assert their_status, text

    def read(path: str) -> str | None:
        f = work / path
        return f.read_text() if f.is_file() else None

    files = all_files(work)
    pipe = parse_pipeline(".gitlab-ci.yml", read, files)
    facts = Facts(sha="0" * 40, ref="main")
    plan = plan_pipeline(pipe, Context(facts, files=files, changed=changed_files(work)))
    run = PipelineRun(pipe, plan, RunSpec(run_id="t", source=work, base_dir=tmp_path / "run",
                                          cache_root=tmp_path / "cache", facts=facts))  # fmt: skip
    record = run.run()
    mine_status = {j["name"]: (j["status"], j["allow_failure_applied"]) for j in record["jobs"]}
    assert mine_status == their_status
    assert {k: v for k, v in run.output.items() if v} == theirs
