"""Flattening steps: aliases, tasks inlined with their vars, retry defaults."""

from __future__ import annotations

import pytest

from shipway.promote.plan import PlanError, expand, flatten, problems

TASK = {
    "vars": [{"name": "repo"}, {"name": "branch", "value": "main"}],
    "steps": [
        {"uses": "git-clone", "as": "clone", "config": {"repoURL": "${{ vars.repo }}",
                                                         "checkout": [{"path": "./src"}]}},
        {"uses": "git-push", "config": {"path": "./src"}},
    ],
}  # fmt: skip


def test_aliases_and_retry() -> None:
    steps = [
        {"uses": "git-clear", "config": {"path": "a"}},
        {"uses": "http", "as": "probe", "retry": {"errorThreshold": 3, "timeout": "1m"},
         "config": {"url": "http://x"}},
    ]  # fmt: skip
    flat = flatten(steps)
    assert [s.alias for s in flat] == ["step-0", "probe"]
    assert (flat[0].error_threshold, flat[0].timeout) == (1, None)
    assert (flat[1].error_threshold, flat[1].timeout) == (3, 60.0)


def test_task_inlined_with_prefixed_aliases_and_vars() -> None:
    steps = [
        {"as": "release", "task": {"name": "publish"}, "vars": [{"name": "repo", "value": "u"}]}
    ]
    flat = flatten(steps, {("PromotionTask", "publish"): TASK})
    assert [s.alias for s in flat] == ["release::clone", "release::step-1"]
    assert all(s.task == "release" for s in flat)
    assert flat[0].task_vars == [
        {"name": "branch", "value": "main"},
        {"name": "repo", "value": "u"},
    ]


def test_task_problems() -> None:
    with pytest.raises(PlanError, match="task 'publish' needs var 'repo'"):
        flatten([{"task": {"name": "publish"}}], {("PromotionTask", "publish"): TASK})
    with pytest.raises(PlanError, match="ClusterPromotionTask 'gone' not found"):
        flatten([{"task": {"name": "gone", "kind": "ClusterPromotionTask"}}], {})
    with pytest.raises(PlanError, match="alias 'a' is used twice"):
        flatten([{"uses": "fail", "as": "a"}, {"uses": "fail", "as": "a"}])


def test_problems_name_the_step() -> None:
    got = problems([{"uses": "git-clear", "as": "wipe", "config": {"path": "a", "x": 1}}])
    assert got == ["step wipe (git-clear): config.x: unknown field"]


def test_expand_gives_a_promotions_task_free_steps() -> None:
    from shipway.model.kargo_promotion import PromotionSpec

    steps = [
        {"uses": "git-clear", "config": {"path": "a"}},
        {"task": {"name": "publish"}, "vars": [{"name": "repo", "value": "u"}]},
        {"uses": "http", "as": "probe", "retry": {"errorThreshold": 2}, "config": {"url": "x"}},
    ]
    got = expand(steps, {("PromotionTask", "publish"): TASK})
    assert [s.get("as") for s in got] == [None, "task-1::clone", "task-1::step-1", "probe"]
    assert got[1]["vars"] == [{"name": "branch", "value": "main"}, {"name": "repo", "value": "u"}]
    assert got[3]["retry"] == {"errorThreshold": 2}
    PromotionSpec.model_validate({"stage": "test", "freight": "f", "steps": got})
    again = flatten(got)  # the stored Promotion runs as the Stage's template would
    assert [s.alias for s in again] == ["step-0", "task-1::clone", "task-1::step-1", "probe"]
    assert again[1].task == "task-1"
