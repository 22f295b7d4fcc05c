"""Matrix expansion (GitHub's documented examples), the job DAG, and trigger filters."""

from __future__ import annotations

import pytest

from shipway.ci.plan.dag import find_cycle, topo_order
from shipway.ci.plan.matrix import MatrixError, expand
from shipway.ci.plan.triggers import matches, workflow_runs


def test_matrix_product_and_exclude() -> None:
    combos = expand({"os": ["a", "b"], "v": [1, 2], "exclude": [{"os": "a", "v": 2}]})
    assert combos == [{"os": "a", "v": 1}, {"os": "b", "v": 1}, {"os": "b", "v": 2}]


def test_matrix_include_documented_example() -> None:
    # https://docs.github.com/actions/using-jobs/using-a-matrix-for-your-jobs#example-expanding-configurations
    matrix = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    assert expand(matrix) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_matrix_only_include_and_limits() -> None:
    assert expand({"include": [{"a": 1}, {"a": 2}]}) == [{"a": 1}, {"a": 2}]
    assert expand(None) == [{}]
    with pytest.raises(MatrixError):
        expand({"a": list(range(300))})
    with pytest.raises(MatrixError):
        expand({"a": "notalist"})


def test_dag() -> None:
    assert topo_order({"c": ["a", "b"], "a": [], "b": ["a"]}) == ["a", "b", "c"]
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": [], "b": ["a"]}) is None


@pytest.mark.parametrize(
    ("patterns", "value", "want"),
    [
        (["main"], "main", True),
        (["releases/*"], "releases/v1", True),
        (["releases/*"], "releases/v1/x", False),
        (["releases/**"], "releases/v1/x", True),
        (["**", "!main"], "main", False),
        (["v[12].+"], "v1.0", False),
        (["v[12].?"], "v1.", True),
        (["*.js", "!docs/**"], "docs/a.js", False),
        (["**.js"], "src/a.js", True),
    ],
)
def test_filter_patterns(patterns: list[str], value: str, want: bool) -> None:
    assert matches(patterns, value) is want


def test_push_filters() -> None:
    on = {"push": {"branches": ["main"], "paths-ignore": ["docs/**"]}}
    assert workflow_runs(on, "push", {"ref": "refs/heads/main"}, ["src/a.py"])
    assert not workflow_runs(on, "push", {"ref": "refs/heads/dev"}, ["src/a.py"])
    assert not workflow_runs(on, "push", {"ref": "refs/heads/main"}, ["docs/x.md"])
    assert not workflow_runs(on, "push", {"ref": "refs/tags/v1"}, None)
    assert not workflow_runs(on, "pull_request", {}, None)
    assert workflow_runs({"push": {}}, "push", {"ref": "refs/tags/v1"})
    tags = {"push": {"tags": ["v*"]}}
    assert workflow_runs(tags, "push", {"ref": "refs/tags/v1"})
    assert not workflow_runs(tags, "push", {"ref": "refs/heads/main"})


def test_pull_request_filters() -> None:
    on = {"pull_request": {"branches": ["main"]}}
    pr = {"action": "opened", "pull_request": {"base": {"ref": "main"}}}
    assert workflow_runs(on, "pull_request", pr)
    assert not workflow_runs(on, "pull_request", {**pr, "action": "closed"})
    typed = {"pull_request": {"types": ["closed"]}}
    assert workflow_runs(typed, "pull_request", {**pr, "action": "closed"})
    other = {"action": "opened", "pull_request": {"base": {"ref": "dev"}}}
    assert not workflow_runs(on, "pull_request", other)
