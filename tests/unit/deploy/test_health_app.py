"""An Application's health from its resources', as Argo CD's controller aggregates it."""

from __future__ import annotations

from typing import Any

from healthobjs import obj

from shipway.deploy import health

DEP = obj("apps/v1", "Deployment")
CM = obj("v1", "ConfigMap")


def app(*rows: tuple[Any, Any, Any]) -> tuple[str, str]:
    return health.application(rows)


def test_worst_of_the_children_with_a_check() -> None:
    assert app((DEP, DEP, ("Healthy", "")), (CM, CM, None)) == ("Healthy", "")
    assert app(
        (DEP, DEP, ("Progressing", "rolling")),
        (DEP, DEP, ("Degraded", "crashed")),
        (CM, CM, None),
    ) == ("Degraded", "crashed")
    assert app((DEP, DEP, ("Suspended", "paused")), (DEP, DEP, ("Healthy", ""))) == (
        "Suspended",
        "paused",
    )
    assert app((CM, CM, None)) == ("Healthy", "")  # kinds with no check do not count
    assert app() == ("Healthy", "")


def test_missing_counts_only_when_nothing_exists() -> None:
    missing = ("Missing", "object does not exist")
    assert app((DEP, None, missing), (CM, CM, None)) == ("Healthy", "")
    assert app((DEP, None, missing), (CM, None, missing)) == ("Missing", "")
    assert app((DEP, None, missing), (DEP, DEP, ("Degraded", "x"))) == ("Degraded", "x")


def test_skipped_resources() -> None:
    ignored = obj(
        "apps/v1", "Deployment", annotations={"argocd.argoproj.io/ignore-healthcheck": "true"}
    )
    assert app((ignored, ignored, ("Degraded", "x"))) == ("Healthy", "")
    hook = obj("batch/v1", "Job", annotations={"argocd.argoproj.io/hook": "PreSync"})
    assert app((hook, hook, ("Degraded", "x"))) == ("Healthy", "")
    child = obj("argoproj.io/v1alpha1", "Application")
    assert app((child, child, ("Unknown", "")), (DEP, DEP, ("Healthy", ""))) == ("Healthy", "")
    assert app((child, child, ("Degraded", "child"))) == ("Degraded", "child")


def test_aggregate_order() -> None:
    assert health.aggregate([None, "Healthy", "Progressing", "Suspended"]) == "Progressing"
    assert health.aggregate(["Missing", "Degraded", "Healthy"]) == "Degraded"
    assert health.aggregate([]) == "Healthy"
    assert health.ORDER == ("Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown")
    assert health.is_worse("Unknown", "Degraded") and not health.is_worse("Healthy", "Suspended")
