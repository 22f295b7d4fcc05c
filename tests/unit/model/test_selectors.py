"""Label selectors and short ages, as kubectl documents them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shipway.model import selectors
from shipway.model.errors import InputError

WEB = {"app": "web", "tier": "frontend", "env": "prod"}
DB = {"app": "db", "env": "dev"}


@pytest.mark.parametrize(
    ("selector", "web", "db"),
    [
        ("app=web", True, False),
        ("app==web", True, False),
        ("app!=web", False, True),
        ("tier!=frontend", False, True),  # != matches objects without the label
        ("env in (prod, staging)", True, False),
        ("env notin (prod)", False, True),
        ("tier notin (backend)", True, True),
        ("tier", True, False),
        ("!tier", False, True),
        ("app in (web,db),env=dev", False, True),
        ("env in (prod,dev), !tier", False, True),
        ("", True, True),
    ],
)
def test_selectors_match_as_kubectl(selector: str, web: bool, db: bool) -> None:
    match = selectors.matcher(selector)
    assert (match(WEB), match(DB)) == (web, db)


@pytest.mark.parametrize("bad", ["app=", "=web", "app in web", "app in (a b)", "a=b=c", "app in"])
def test_a_bad_selector_names_the_part(bad: str) -> None:
    if bad == "app=":  # an empty value is allowed by Kubernetes
        assert selectors.matcher(bad)({"app": ""})
        return
    with pytest.raises(InputError) as err:
        selectors.parse(bad)
    assert err.value.subject == bad


NOW = dt.datetime(2026, 1, 10, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (300, "5m"),
        (303, "5m3s"),
        (1800, "30m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 600, "3h10m"),
        (20 * 3600, "20h"),
        (2 * 86400, "2d"),
        (2 * 86400 + 5 * 3600, "2d5h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400, "3y"),
        (3 * 365 * 86400 + 4 * 86400, "3y4d"),
        (10 * 365 * 86400, "10y"),
        (-60, "<invalid>"),
    ],
)
def test_ages_are_kubectl_short_durations(seconds: int, shown: str) -> None:
    assert selectors.age(NOW - dt.timedelta(seconds=seconds), NOW) == shown


def test_a_naive_time_is_utc() -> None:
    assert selectors.age(dt.datetime(2026, 1, 10, 11, 0, 0), NOW) == "60m"


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        (None, {"a": "1"}, True),
        ({}, {}, True),
        ({"matchLabels": {"tier": "web"}}, {"tier": "web", "x": "y"}, True),
        ({"matchLabels": {"tier": "web"}}, {"tier": "db"}, False),
        ({"matchLabels": {"replicas": 3}}, {"replicas": "3"}, True),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]},
            {"env": "b"},
            True,
        ),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["a"]}]}, {}, False),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["a"]}]},
            {"env": "a"},
            False,
        ),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, {"env": ""}, True),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, {"env": ""}, False),
        (
            {"matchExpressions": [{"key": "env", "operator": "Gt", "values": ["1"]}]},
            {"env": "2"},
            False,
        ),
        (
            {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
            {"a": "1"},
            False,
        ),
    ],
)
def test_label_selector_objects(
    selector: dict[str, Any] | None, labels: dict[str, str], expected: bool
) -> None:
    """Kubernetes' LabelSelector object, as ApplicationSets, Kargo and Tekton Triggers use it."""
    assert selectors.selector_matches(selector, labels) is expected
