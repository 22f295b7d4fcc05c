"""GitLab's auto-cancel of redundant pipelines: a pipeline's mode, what a newer one cancels."""

from __future__ import annotations

import textwrap

import pytest

from shipway.ci.gitlab.autocancel import JobState, decide, mode_of
from shipway.ci.gitlab.pipeline import parse_pipeline
from shipway.ci.gitlab.plan import Context, plan_pipeline
from shipway.ci.gitlab.variables import Facts
from shipway.model.errors import InputError


def _plan(text: str, ref: str = "main"):  # type: ignore[no-untyped-def]
    text = textwrap.dedent(text)
    pipe = parse_pipeline(".gitlab-ci.yml", {".gitlab-ci.yml": text}.get, [".gitlab-ci.yml"])
    return plan_pipeline(pipe, Context(Facts(sha="a" * 40, ref=ref)))


def test_the_mode_is_conservative_unless_the_workflow_or_its_matching_rule_says() -> None:
    assert _plan("job: {script: [x]}\n").auto_cancel == "conservative"
    text = """\
        workflow:
          auto_cancel: {on_new_commit: interruptible}
          rules:
            - if: $CI_COMMIT_BRANCH == "main"
              auto_cancel: {on_new_commit: none}
            - when: always
        job: {script: [x]}
        """
    assert _plan(text).auto_cancel == "none"
    assert _plan(text, ref="feature").auto_cancel == "interruptible"
    assert mode_of(None, {"auto_cancel": {"on_new_commit": "interruptible"}}) == "interruptible"
    assert not _plan(text).cancel_on_failure  # GitLab's default: none
    failing = "workflow:\n  auto_cancel: {on_job_failure: all}\njob: {script: [x]}\n"
    assert _plan(failing).cancel_on_failure


def test_a_rules_interruptible_overrides_the_jobs() -> None:
    plan = _plan("""\
        default: {interruptible: true}
        a: {script: [x]}
        b:
          script: [x]
          rules: [{interruptible: false}]
        c:
          interruptible: false
          script: [x]
        """)
    assert {p.job.name: p.interruptible for p in plan.jobs} == {"a": True, "b": False, "c": False}


def test_bad_auto_cancel_values_are_refused_with_positions_all_at_once() -> None:
    with pytest.raises(InputError) as info:
        _plan("""\
            workflow:
              auto_cancel:
                on_new_commit: always
                on_job_failur: all
              rules:
                - if: $CI_COMMIT_BRANCH
                  auto_cancel: {on_new_commit: nope}
            job: {script: [x]}
            """)
    assert str(info.value).splitlines() == [
        ".gitlab-ci.yml:3:5: workflow:auto_cancel on new commit must be one of: conservative, "
        "interruptible, none",
        ".gitlab-ci.yml:4:5: workflow:auto_cancel config contains unknown keys: on_job_failur",
        ".gitlab-ci.yml:7:21: workflow:auto_cancel on new commit must be one of: conservative, "
        "interruptible, none",
    ]


def _jobs(*specs: str) -> list[JobState]:
    """``name:flags``: i interruptible, s started, e ended."""
    out = []
    for spec in specs:
        name, _, flags = spec.partition(":")
        out.append(JobState(name, "i" in flags, "s" in flags, "e" in flags))
    return out


def test_conservative_cancels_the_whole_pipeline_until_a_non_interruptible_job_starts() -> None:
    got = decide("conservative", _jobs("build:ise", "test:is", "deploy:"))
    assert got.whole and got.jobs == ("test", "deploy")  # a job not started counts as interruptible
    assert decide("conservative", _jobs("build:", "test:")).whole  # nothing started yet
    shielded = decide("conservative", _jobs("build:se", "test:is"))
    assert not shielded.cancels and "(build)" in shielded.reason
    assert not decide("conservative", _jobs("build:s", "test:i")).cancels
    assert not decide("conservative", _jobs("build:ise")).cancels  # all ended


def test_interruptible_cancels_only_interruptible_jobs_and_none_nothing() -> None:
    got = decide("interruptible", _jobs("build:se", "test:is", "lint:i", "deploy:", "old:ise"))
    assert not got.whole and got.jobs == ("test", "lint")
    assert not decide("interruptible", _jobs("deploy:s")).cancels
    assert not decide("none", _jobs("test:is")).cancels
