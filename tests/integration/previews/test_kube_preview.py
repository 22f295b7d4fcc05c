"""Previews on Kubernetes (the API fake): a namespace per preview, the cluster's own node port
for each (the rendered fixed ``nodePort`` would collide), its URL on the pull request, and a
LoadBalancer's address once the cluster gives it one; teardown removes the objects."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from fake_kube.server import FakeKube
from shipway import cluster
from shipway.model.preview import preview_name
from shipway.model.resources import Resource
from shipway.promote.previews import place
from shipway.promote.previews.engine import Previews, run_all
from shipway.store import previews as store_previews
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    server = FakeKube()
    yield server
    cluster.close_all()
    server.close()


def _on_cluster(w: Any, fake: FakeKube) -> Resource:
    kube = {"apiVersion": "shipway.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "k"},
            "spec": {"type": "kubernetes", "server": fake.url}}  # fmt: skip
    store_resources.apply(w.store, [Resource("shipway.dev/v1alpha1", "Cluster", "k", "", kube)])
    appset = w.appset()
    body = copy.deepcopy(appset.body)
    dest = {"name": "k", "namespace": "web-pr-{{number}}"}
    body["spec"]["template"]["spec"]["destination"] = dest
    store_resources.apply(w.store, [Resource(appset.api_version, appset.kind, appset.name,
                                             appset.namespace, body)])  # fmt: skip
    return store_resources.get(w.store, "ApplicationSet", appset.name, appset.namespace)


def test_previews_on_kubernetes_get_a_namespace_and_a_url(world_factory: Any, fake: FakeKube
                                                          ) -> None:  # fmt: skip
    w = world_factory("gitea")
    appset = _on_cluster(w, fake)
    numbers = []
    for branch in ("one", "two"):
        w.push_branch(branch, branch)
        numbers.append(w.open_pull(branch))
    eng = Previews(w.store, w.settings, health_timeout=20)
    run_all(eng, eng.refresh(appset))
    seen: set[int] = set()
    for n in numbers:
        p = store_previews.get(w.store, preview_name("web-previews", n))
        assert p is not None and p.phase == "Ready", p and p.message
        assert p.namespace == f"web-pr-{n}"
        assert ("Namespace", "", p.namespace) in fake.store.objects
        svc = fake.store.objects[("Service", p.namespace, "web")]
        node_port = svc["spec"]["ports"][0]["nodePort"]
        assert node_port != 30080 and node_port not in seen  # the cluster's, one each
        seen.add(node_port)
        assert p.preview_url == f"http://127.0.0.1:{node_port}/"
        assert store_previews.ports_of(w.store, p.name) == {}  # no loopback port on a cluster
        [status] = [s for s in w.forge.statuses_of("gitea", w.project, p.head_sha)
                    if s.get("context") == "shipway/preview"
                    and s.get("state", s.get("status")) == "success"]  # fmt: skip
        assert status["target_url"] == p.preview_url
        [comment] = w.forge.comments_on("gitea", w.project, n)
        assert p.preview_url in comment

    # a load balancer hands out an address: the next push's URL is the address
    first = store_previews.get(w.store, preview_name("web-previews", numbers[0]))
    assert first is not None
    with fake.store.lock:
        key = ("Service", first.namespace, "web")
        svc = copy.deepcopy(fake.store.objects[key])
        svc["spec"]["type"] = "LoadBalancer"
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
        fake.store.objects[key] = svc
    cluster.close_all()  # the live cache sees it on its next list
    assert place.url(w.store, w.settings, first.name, first.applications[0]) \
        == "http://203.0.113.7:80/"  # fmt: skip

    # closed: its objects go; the other preview stays
    w.forge.set_pull("gitea", w.project, numbers[0], state="closed")
    run_all(eng, eng.refresh(appset))
    assert store_previews.get(w.store, first.name) is None
    assert ("Service", first.namespace, "web") not in fake.store.objects
    assert ("Deployment", first.namespace, "web") not in fake.store.objects
    assert ("Namespace", "", first.namespace) not in fake.store.objects
    other = preview_name("web-previews", numbers[1])
    assert store_previews.get(w.store, other) is not None
