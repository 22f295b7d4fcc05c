"""The ``on:`` checks (ci/syntax/events.py): filters, activity types, inputs, cron."""

from __future__ import annotations

import pytest

from shipway.ci.syntax.events import check_on, cron_problem
from shipway.ci.syntax.github import parse_workflow
from shipway.model.errors import InputError

JOBS = "jobs:\n  a: {runs-on: x, steps: [{run: x}]}\n"


def _problems(on: dict[str, object]) -> list[str]:
    found: list[str] = []
    check_on(on, lambda path, msg: found.append(f"{'.'.join(map(str, path))}: {msg}"))
    return found


@pytest.mark.parametrize(
    "cron",
    ["* * * * *", "*/15 0-6 * * 1-5", "0 0 1,15 JAN,jul SUN", "30 5 * * MON-FRI", "0 */2 * * 0"],
)
def test_valid_cron(cron: str) -> None:
    assert cron_problem(cron) is None


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("61 * * * *", "minute field '61': 61 is outside 0-59"),
        ("* 24 * * *", "hour field '24': 24 is outside 0-23"),
        ("* * 0 * *", "day of month field '0': 0 is outside 1-31"),
        ("* * * FOO *", "'FOO' is not a number or name"),
        ("*/0 * * * *", "a step of 0"),
        ("* * * *", "expected 5 fields"),
        ("@daily", "expected 5 fields"),
    ],
)
def test_invalid_cron(cron: str, problem: str) -> None:
    assert problem in (cron_problem(cron) or "")


def test_filters_types_and_inputs() -> None:
    assert _problems({"push": {"branches": ["main"], "tags": "v*"}}) == []
    assert _problems({"push": {"types": ["opened"]}})[0].startswith("on.push.types: unknown key")
    assert "cannot both filter" in _problems({"push": {"paths": ["a"], "paths-ignore": ["b"]}})[0]
    assert _problems({"pull_request": {"types": ["opened", "synchronise"]}}) == [
        "on.pull_request.types.1: unknown activity type 'synchronise' for event 'pull_request' "
        "(expected one of: " + ", ".join(sorted(_pr_types())) + ")"
    ]
    assert _problems({"repository_dispatch": {"types": ["anything-goes"]}}) == []
    dispatch = {
        "inputs": {
            "level": {"type": "choice", "options": ["a", "b"], "default": "c"},
            "n": {"type": "number", "default": "three"},
            "ok": {"type": "boolean", "default": True},
            "plain": {"description": "a string by default"},
        }
    }
    assert _problems({"workflow_dispatch": dispatch}) == [
        "on.workflow_dispatch.inputs.level.default: default 'c' of input 'level' is not one of "
        "its options",
        "on.workflow_dispatch.inputs.n.default: default of number input 'n' must be a number",
    ]
    call = {"inputs": {"x": {"type": "choice"}}, "outputs": {"o": {"description": "no value"}}}
    assert [p.split(":")[0] for p in _problems({"workflow_call": call})] == [
        "on.workflow_call.inputs.x.type",
        "on.workflow_call.outputs.o",
    ]


def _pr_types() -> set[str]:
    from shipway.ci.syntax.events import TYPES

    return set(TYPES["pull_request"])


def test_schedule_errors_point_at_the_cron_line() -> None:
    text = "on:\n  schedule:\n    - cron: '0 0 * * *'\n    - cron: '0 25 * * *'\n" + JOBS
    with pytest.raises(InputError) as info:
        parse_workflow(text, "w.yml")
    assert str(info.value).startswith("w.yml:4:7: invalid cron '0 25 * * *': hour field")


def test_env_of_the_wrong_shape_is_an_error_not_a_crash() -> None:
    text = "on: push\njobs:\n  a:\n    runs-on: x\n    env: [A=1]\n    steps: [{run: x}]\n"
    with pytest.raises(InputError) as info:
        parse_workflow(text, "w.yml")
    assert str(info.value).startswith("w.yml:5:5: 'env' must be a mapping of names to strings")
