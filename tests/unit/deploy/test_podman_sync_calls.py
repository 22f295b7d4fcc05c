"""The podman calls one sync makes (a recording stand-in for podman, its JSON as podman 4.3
prints it): the comparison's listing of pods serves the apply after it, once; a rollout stops
the old pod within the workload's grace period, Kubernetes' 30 s when it sets none."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from shipway.cluster import podman as podman_mod
from shipway.cluster.podman import PodmanTarget
from shipway.settings import Settings

LABELS = {
    "app.kubernetes.io/instance": "web",
    "shipway.dev/owner-kind": "Deployment",
    "shipway.dev/owner-namespace": "default",
    "shipway.dev/owner-name": "web",
}


def deployment(image: str, grace: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "web", "image": image}]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    template = {"metadata": {"labels": {"app": "web"}}, "spec": spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": template}}  # fmt: skip


class Recording(PodmanTarget):
    """Runs no podman: answers ``pod ps`` and ``container inspect`` with one running pod."""

    def __init__(self, home: Path) -> None:
        super().__init__(Settings(home=home), {})
        self.calls: list[tuple[str, ...]] = []
        self.image = "registry.example/web:1"

    def podman(self, *args: str, subject: str = "podman", check: bool = True,
               timeout: float | None = None) -> str:  # fmt: skip
        self.calls.append(args)
        if args[:2] == ("pod", "ps"):
            members = [{"Id": "c1"}, {"Id": "i1"}]
            return json.dumps([{"Id": "p1", "Name": "default.web-0", "Labels": LABELS,
                                "InfraId": "i1", "Containers": members}])  # fmt: skip
        if args[:2] == ("container", "inspect"):
            return json.dumps([{"Id": "c1", "Name": "default.web-0-web", "ImageName": self.image,
                                "State": {"Status": "running"}}])  # fmt: skip
        return ""

    def verbs(self) -> list[str]:
        return [" ".join(c[:2]) for c in self.calls]


@pytest.fixture
def target(tmp_path: Path) -> Recording:
    t = Recording(tmp_path)
    t.apply("web", [deployment(t.image, 1)])  # recorded; the stand-in's pod runs it
    t.calls.clear()
    return t


def test_the_comparisons_listing_serves_the_next_apply_once(target: Recording) -> None:
    target.live("web")
    target.apply("web", [deployment(target.image, 1)])  # unchanged and current: nothing to do
    assert target.verbs() == ["pod ps", "container inspect"]  # only live's listing
    target.calls.clear()
    target.apply("web", [deployment(target.image, 1)])  # no comparison before: lists again
    assert target.verbs() == ["pod ps", "container inspect"]


def test_another_threads_listing_is_not_used(target: Recording) -> None:
    seen = threading.Thread(target=target.live, args=("web",))  # a health poll elsewhere
    seen.start()
    seen.join()
    target.calls.clear()
    target.apply("web", [deployment(target.image, 1)])
    assert target.verbs() == ["pod ps", "container inspect"]


def test_a_stale_listing_is_not_used(target: Recording, monkeypatch: Any) -> None:
    target.live("web")
    monkeypatch.setattr(podman_mod, "FRESH", -1.0)
    target.calls.clear()
    target.apply("web", [deployment(target.image, 1)])
    assert target.verbs() == ["pod ps", "container inspect"]


@pytest.mark.parametrize(("grace", "seconds"), [(1, "1"), (None, "30"), (0, "0")])
def test_a_rollout_stops_the_old_pod_within_its_grace_period(
    tmp_path: Path, grace: int | None, seconds: str
) -> None:
    target = Recording(tmp_path)
    target.apply("web", [deployment(target.image, grace)])
    target.live("web")
    target.calls.clear()
    target.apply("web", [deployment("registry.example/web:2", grace)])
    [stop] = [c for c in target.calls if c[:2] == ("pod", "stop")]
    assert stop == ("pod", "stop", "-t", seconds, "default.web-0")
    assert target.verbs()[-1] == "kube play"
    assert "pod ps" not in target.verbs()  # the comparison's listing served the apply
