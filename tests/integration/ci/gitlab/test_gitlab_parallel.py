"""GitLab jobs run at once as a runner with ``concurrent`` runs them: ``needs`` and
``resource_group`` decide the order (host shell jobs that wait on each other's files)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from gitlab_pipelines import run_pipeline

WAIT = 'i=0; until test -f "$D/{0}"; do i=$((i+1)); test $i -lt 300 || break; sleep 0.1; done'


def _run(tmp_path: Path, text: str, concurrency: int) -> tuple[dict[str, Any], list[str]]:
    shared = tmp_path / "shared"
    shared.mkdir()
    values = {"D": str(shared)}
    lines: list[str] = []
    record, _ = run_pipeline(tmp_path, text, "p1", values, variables=values,
                             on_line=lines.append, concurrency=concurrency)  # fmt: skip
    return record, lines


def test_a_stage_runs_at_once_and_needs_start_before_the_stage_ends(tmp_path: Path) -> None:
    record, lines = _run(
        tmp_path,
        f"""\
        stages: [build, test]
        waits:
          stage: build
          script:
            - {WAIT.format("after-ran")}
            - test -f "$D/after-ran" && echo saw-after
        quick:
          stage: build
          script: [echo quick]
        after:
          stage: test
          needs: [quick]
          script: ['touch "$D/after-ran"']
        plain:
          stage: test
          script: [echo plain]
        """,
        concurrency=3,
    )
    assert record["conclusion"] == "success", "\n".join(lines)
    assert [(j["name"], j["status"]) for j in record["jobs"]] == [
        ("waits", "success"), ("quick", "success"), ("after", "success"), ("plain", "success"),
    ]  # fmt: skip
    # plain has no needs: it waits for the whole build stage, so it comes after `waits`
    assert lines.index("[waits] saw-after") < lines.index("[plain] plain")


def test_one_job_of_a_resource_group_at_a_time(tmp_path: Path) -> None:
    record, lines = _run(
        tmp_path,
        f"""\
        deploy-a:
          resource_group: production
          script:
            - touch "$D/a-started"
            - {WAIT.format("other-ran")}
            - test -f "$D/other-ran" && test ! -f "$D/b-started" && echo alone
        deploy-b:
          resource_group: production
          script: ['touch "$D/b-started"', 'test -f "$D/a-started"']
        other:
          script: ['{WAIT.format("a-started")}', 'touch "$D/other-ran"']
        """,
        concurrency=2,
    )
    assert record["conclusion"] == "success", "\n".join(lines)
    assert "[deploy-a] alone" in lines
    assert [j["name"] for j in record["jobs"]] == ["deploy-a", "deploy-b", "other"]


def test_a_failed_need_skips_its_dependents_and_not_its_neighbours(tmp_path: Path) -> None:
    record, lines = _run(
        tmp_path,
        """\
        stages: [build, test]
        broken: {stage: build, script: [exit 3]}
        fine: {stage: build, script: [echo fine]}
        uses-broken: {stage: test, needs: [broken], script: [echo never]}
        uses-fine: {stage: test, needs: [fine], script: [echo ran]}
        """,
        concurrency=2,
    )
    statuses = {j["name"]: j["status"] for j in record["jobs"]}
    assert statuses == {"broken": "failed", "fine": "success", "uses-broken": "skipped",
                        "uses-fine": "success"}  # fmt: skip
    assert record["conclusion"] == "failure"
    assert "[uses-fine] ran" in lines and "[uses-broken] never" not in lines


def test_jobs_at_once_each_have_their_own_git_index_and_head(tmp_path: Path) -> None:
    # four jobs stage and commit different files at the same time (each waits until all
    # four have staged, so their indexes are live together); with one shared index a job
    # would see the others' files staged, commit them, or die on index.lock
    job = """\
        j{0}:
          script:
            - git config user.name t && git config user.email t@t
            - echo {0} > only-{0}.txt && git add only-{0}.txt && touch "$D/staged-{0}"
            - for n in 1 2 3 4; do {wait}; done
            - git status --porcelain > "$D/status-{0}"
            - git commit -qm "job {0}" && git rev-parse HEAD > "$D/head-{0}"
            - git show --name-only --format= HEAD > "$D/files-{0}"
            - git status --porcelain | grep . && exit 9 || true
        """
    wait = WAIT.format("staged-$n")
    text = "".join(textwrap.dedent(job.format(i, wait=wait)) for i in range(1, 5))
    record, lines = _run(tmp_path, text, concurrency=4)
    assert record["conclusion"] == "success", "\n".join(lines)
    shared = tmp_path / "shared"
    heads = set()
    for i in range(1, 5):
        assert (shared / f"status-{i}").read_text() == f"A  only-{i}.txt\n"
        assert (shared / f"files-{i}").read_text() == f"only-{i}.txt\n"
        heads.add((shared / f"head-{i}").read_text())
    assert len(heads) == 4
