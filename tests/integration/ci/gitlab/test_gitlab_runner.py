"""The GitLab runner on real executors: host shell jobs and podman image/services jobs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from gitlab_pipelines import committed, facts, run_pipeline

from shipway.ci.exec.base import ExecutorConfig
from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.ci.gitlab_run import PipelineRun, RunSpec
from shipway.runtime.host import Cancel

Result = tuple[dict[str, Any], PipelineRun]


def _run(tmp_path: Path, text: str, executor: str = "host",
         podman: dict[str, str] | None = None, **variables: str) -> Result:  # fmt: skip
    config = ExecutorConfig(podman_env=podman or {})
    return run_pipeline(tmp_path, text, "g1", variables, executor=executor, config=config)


def _jobs(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {j["name"]: j for j in record["jobs"]}


def test_retry_until_it_passes_and_only_for_listed_exit_codes(tmp_path: Path) -> None:
    counter = tmp_path / "tries"
    record, _ = _run(
        tmp_path,
        f"""\
        flaky:
          script:
            - echo x >> {counter}
            - test "$(wc -l < {counter})" -ge 2
          retry: 2
        strict:
          script: [exit 7]
          retry: {{max: 2, exit_codes: [3]}}
    """,
    )
    jobs = _jobs(record)
    assert (jobs["flaky"]["status"], jobs["flaky"]["retried"]) == ("success", 1)
    assert (jobs["strict"]["status"], jobs["strict"]["retried"], jobs["strict"]["exit_code"]) \
        == ("failed", 0, 7)  # fmt: skip
    assert record["gitlab_status"] == "failed" and record["conclusion"] == "failure"


def test_after_script_runs_in_its_own_shell_and_failure_paths(tmp_path: Path) -> None:
    record, run = _run(
        tmp_path,
        """\
        stages: [build, test]
        broken:
          stage: build
          script: [export MINE=set, exit 4]
          after_script: ['echo "status=$CI_JOB_STATUS mine=${MINE:-unset}"', exit 9]
        cleanup:
          stage: test
          when: on_failure
          script: [echo cleaning]
        next:
          stage: test
          script: [echo never]
    """,
    )
    jobs = _jobs(record)
    assert run.output["broken"] == ["status=failed mine=unset"]
    assert [jobs[n]["status"] for n in ("broken", "cleanup", "next")] == ["failed", "success",
                                                                          "skipped"]  # fmt: skip
    assert jobs["broken"]["exit_code"] == 4 and jobs["next"]["result"] == "skipped"


def test_manual_jobs_are_reported_not_run_and_block_only_when_not_allowed_to_fail(
    tmp_path: Path,
) -> None:
    record, run = _run(tmp_path, """\
        stages: [one, two]
        optional:
          stage: one
          when: manual
          script: [echo ran-optional]
        gate:
          stage: one
          script: [echo ran-gate]
          rules:
            - if: $GATE
              when: manual
            - when: on_success
        after:
          stage: two
          script: [echo ran-after]
    """, GATE="yes")  # fmt: skip
    jobs = _jobs(record)
    assert [jobs[n]["status"] for n in ("optional", "gate", "after")] == ["manual", "manual",
                                                                         "skipped"]  # fmt: skip
    assert "optional" not in run.output and "gate" not in run.output
    record, _ = _run(
        tmp_path / "again",
        """\
        stages: [one, two]
        optional: {stage: one, when: manual, script: [echo x]}
        after: {stage: two, script: [echo ran-after]}
    """,
    )
    assert [j["status"] for j in record["jobs"]] == ["manual", "success"]


def test_cache_and_artifacts_between_jobs(tmp_path: Path) -> None:
    record, run = _run(
        tmp_path,
        """\
        stages: [a, b]
        fill:
          stage: a
          script: [mkdir -p .cache out, echo cached > .cache/f, echo art > out/g]
          cache: {key: k-$CI_COMMIT_REF_SLUG, paths: [.cache/]}
          artifacts: {paths: [out/g]}
        use:
          stage: b
          script: [cat .cache/f, cat out/g, git status --porcelain --untracked-files=no,
                   'git log -1 --format=%s']
          cache: {key: k-$CI_COMMIT_REF_SLUG, paths: [.cache/], policy: pull}
        no-art:
          stage: b
          dependencies: []
          script: ['test -e out/g && echo has || echo none']
    """,
    )
    assert record["gitlab_status"] == "success"
    assert run.output["use"] == ["cached", "art", "x"] and run.output["no-art"] == ["none"]
    assert (tmp_path / "cache" / "k-main" / ".cache" / "f").read_text() == "cached\n"


def test_podman_image_and_service(tmp_path: Path, podman: dict[str, str],
                                  busybox_image: str) -> None:  # fmt: skip
    record, run = _run(tmp_path, f"""\
        stages: [build, check]
        build:
          stage: build
          image: {busybox_image}
          services:
            - name: {busybox_image}
              alias: web
              entrypoint: [sh, -c]
              command: ['mkdir -p /w && echo hello-svc > /w/index.html && httpd -f -p 80 -h /w']
          script:
            - echo "dir=$CI_PROJECT_DIR pwd=$(pwd)"
            - for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://web/ && break; sleep 1; done
            - echo made > made.txt
          artifacts: {{paths: [made.txt]}}
        check:
          stage: check
          script: [cat made.txt]
    """, executor="podman", podman=podman)  # fmt: skip
    jobs = _jobs(record)
    assert jobs["build"]["status"] == "success", run.lines
    assert run.output["build"][0] == "dir=/builds/shipway/project pwd=/builds/shipway/project"
    assert "hello-svc" in run.output["build"]
    assert run.output["check"] == ["made"]


def test_timeout_fails_the_job_and_cancel_gives_canceled(tmp_path: Path) -> None:
    record, run = _run(
        tmp_path,
        """\
        slow:
          script: [sleep 30]
          timeout: 1s
    """,
    )
    assert (record["jobs"][0]["status"], record["jobs"][0]["exit_code"]) == ("failed", -1)
    assert any("execution took longer than 1s" in line for line in run.lines)

    src = tmp_path / "c"
    src.mkdir()
    (src / ".gitlab-ci.yml").write_text(
        textwrap.dedent("""\
        stages: [a, b]
        long:
          stage: a
          script: [echo go, sleep 30]
          after_script: ['echo "after=$CI_JOB_STATUS"']
        later:
          stage: b
          script: [echo never]
    """)
    )
    pipe = parse_pipeline(".gitlab-ci.yml", lambda p: (src / p).read_text(), [".gitlab-ci.yml"])
    facts = Facts(sha="1" * 40, ref="main")
    cancel = Cancel()

    def on_line(line: str) -> None:
        if line.endswith("] go"):  # the job has started: cancel the run
            cancel.cancel()

    spec = RunSpec(run_id="c1", source=src, base_dir=tmp_path / "crun",
                   cache_root=tmp_path / "cache", facts=facts, cancel=cancel,
                   on_line=on_line)  # fmt: skip
    run = PipelineRun(pipe, plan_pipeline(pipe, Context(facts)), spec)
    record = run.run()
    assert [j["status"] for j in record["jobs"]] == ["canceled", "canceled"]
    assert run.output["long"] == ["go", "after=canceled"]
    assert (record["gitlab_status"], record["conclusion"]) == ("canceled", "cancelled")


def test_a_delayed_job_waits_its_start_in_and_a_cancel_during_the_wait_cancels_it(
    tmp_path: Path,
) -> None:
    stamps = tmp_path / "stamps"
    record, run = _run(
        tmp_path / "wait",
        f"""\
        stages: [first, later]
        first:
          stage: first
          script: ['date +%s.%N >> {stamps}']
        deploy:
          stage: later
          when: delayed
          start_in: 2 seconds
          script: ['date +%s.%N >> {stamps}']
    """,
    )
    jobs = _jobs(record)
    assert (jobs["first"]["status"], jobs["deploy"]["status"]) == ("success", "success")
    assert "[deploy] delayed: starting in 2s" in run.lines
    first, deploy = (float(x) for x in stamps.read_text().split())
    assert deploy - first >= 2.0  # it started no sooner than start_in said

    cancel = Cancel()

    def on_line(line: str) -> None:
        if "delayed: starting in" in line:
            cancel.cancel()

    record, run = run_pipeline(tmp_path / "cancel", """\
        held:
          when: delayed
          start_in: 10 minutes
          script: ['echo ran']
        """, "g2", on_line=on_line, cancel=cancel)  # fmt: skip
    held = _jobs(record)["held"]
    assert held["status"] == "canceled" and run.output.get("held", []) == []
    assert record["gitlab_status"] == "canceled"


def test_interruptible_is_recorded_as_the_job_or_its_rule_says(tmp_path: Path) -> None:
    record, run = _run(
        tmp_path,
        """\
        lint:
          interruptible: true
          script: [echo ok]
        docs:
          script: [echo ok]
          rules: [{interruptible: true}]
        deploy:
          script: [echo ok]
    """,
    )
    assert {j["name"]: j["interruptible"] for j in record["jobs"]} == {
        "lint": True, "docs": True, "deploy": False}  # fmt: skip
    assert not any("interruptible" in ln for ln in run.lines)  # the controller's runs cancel


def test_a_superseded_run_cancels_as_its_mode_says_and_a_resume_keeps_it_cancelled(
    tmp_path: Path,
) -> None:
    text = """\
        stages: [build, test]
        build: {stage: build, interruptible: true, script: [echo built, sleep 30]}
        test: {stage: test, interruptible: true, script: [echo tested]}
        """
    supersede: list[PipelineRun] = []

    def on_line(line: str) -> None:
        if line == "[build] built" and supersede:
            supersede[0].supersede("b" * 40)

    states: list[dict[str, Any]] = []
    src = tmp_path / "src"
    pipe = committed(src, textwrap.dedent(text))
    plan = plan_pipeline(pipe, Context(facts(), files=[".gitlab-ci.yml"]))
    spec = RunSpec(run_id="s1", source=src, base_dir=tmp_path / "run",
                   cache_root=tmp_path / "cache", facts=facts(), on_line=on_line,
                   on_state=states.append)  # fmt: skip
    run = PipelineRun(pipe, plan, spec)
    supersede.append(run)
    record = run.run()
    assert [(j["name"], j["status"]) for j in record["jobs"]] == [
        ("build", "canceled"), ("test", "canceled")]  # fmt: skip
    assert record["superseded_by"] == "b" * 40 and record["gitlab_status"] == "canceled"
    assert run.output.get("test") is None  # it never started

    cancelled_state = next(s for s in states if s.get("superseded_whole"))
    again = PipelineRun(pipe, plan, RunSpec(run_id="s1", source=src, base_dir=tmp_path / "run2",
                                            cache_root=tmp_path / "cache", facts=facts()),
                        prior=cancelled_state)  # fmt: skip
    resumed = again.run()
    assert resumed["gitlab_status"] == "canceled" and again.output == {}
    assert resumed["superseded_by"] == "b" * 40


def test_on_job_failure_all_cancels_the_running_jobs_when_one_fails(tmp_path: Path) -> None:
    text = """\
        workflow:
          auto_cancel: {on_job_failure: all}
        slow: {script: [sleep 60, echo slept]}
        broken: {script: ["exit 4"]}
        later: {stage: deploy, script: [echo later]}
        """
    record, run = run_pipeline(tmp_path, text, "f1", concurrency=2)
    jobs = _jobs(record)
    assert (jobs["broken"]["status"], jobs["slow"]["status"]) == ("failed", "canceled")
    assert jobs["later"]["status"] == "canceled" and record["gitlab_status"] == "failed"
    assert "slept" not in run.output.get("slow", [])
