"""The Kubernetes API behaviours the reconciler relies on, checked against the fake
(``tests/fake_kube``) and, when ``SHIPWAY_TEST_KUBECONFIG`` names a kubeconfig, against
that real cluster too: the same assertions keep the fake honest."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes import watch as kwatch
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, UnprocessibleEntityError

from fake_kube.server import FakeKube

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fake_kube() -> Iterator[FakeKube]:
    fake = FakeKube()
    yield fake
    fake.close()


@pytest.fixture(params=["fake", "real"])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[DynamicClient, str]]:
    if request.param == "real":
        path = os.environ.get("SHIPWAY_TEST_KUBECONFIG")
        if not path:
            pytest.skip(
                "SHIPWAY_TEST_KUBECONFIG is not set: no real cluster to check the "
                "fake against on this machine"
            )
        api_client = kconfig.new_client_from_config(config_file=path)
    else:
        fake = request.getfixturevalue("fake_kube")
        cfg = kclient.Configuration()
        cfg.host = fake.url
        api_client = kclient.ApiClient(cfg)
    dyn = DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    ns = f"shipway-contract-{uuid.uuid4().hex[:8]}"
    nsr = dyn.resources.get(api_version="v1", kind="Namespace")
    dyn.create(nsr, body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    try:
        yield dyn, ns
    finally:
        dyn.delete(nsr, name=ns)


def _cm(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def test_discovery_serves_the_core_kinds(api) -> None:
    dyn, _ = api
    kinds = {r.kind for r in dyn.resources.search() if r.name and "/" not in r.name}
    assert {"ConfigMap", "Secret", "Service", "Deployment", "Namespace", "Job"} <= kinds
    dep = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert dep.namespaced and dep.name == "deployments"


def test_create_get_resource_versions_and_conflicts(api) -> None:
    dyn, ns = api
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    made = dyn.create(cms, body=_cm("a", {"k": "1"}), namespace=ns).to_dict()
    meta = made["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
    with pytest.raises(ConflictError) as err:
        dyn.create(cms, body=_cm("a", {"k": "1"}), namespace=ns)
    assert err.value.status == 409
    updated = dyn.replace(
        cms,
        body={
            **_cm("a", {"k": "2"}),
            "metadata": {"name": "a", "resourceVersion": meta["resourceVersion"]},
        },
        namespace=ns,
    ).to_dict()
    assert updated["metadata"]["resourceVersion"] != meta["resourceVersion"]
    with pytest.raises(ConflictError):  # stale resourceVersion
        dyn.replace(
            cms,
            body={
                **_cm("a", {"k": "3"}),
                "metadata": {"name": "a", "resourceVersion": meta["resourceVersion"]},
            },
            namespace=ns,
        )
    assert dyn.get(cms, name="a", namespace=ns).to_dict()["data"] == {"k": "2"}


def test_not_found_and_invalid(api) -> None:
    dyn, ns = api
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    with pytest.raises(NotFoundError):
        dyn.get(cms, name="nope", namespace=ns)
    with pytest.raises(NotFoundError):
        dyn.delete(cms, name="nope", namespace=ns)
    with pytest.raises(UnprocessibleEntityError) as err:
        dyn.create(cms, body=_cm("Not_A_Name", {}), namespace=ns)
    assert err.value.status == 422


def test_label_selectors(api) -> None:
    dyn, ns = api
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    dyn.create(
        cms, body=_cm("x", {}, {"app.kubernetes.io/instance": "one", "tier": "web"}), namespace=ns
    )
    dyn.create(cms, body=_cm("y", {}, {"app.kubernetes.io/instance": "two"}), namespace=ns)
    dyn.create(cms, body=_cm("z", {}), namespace=ns)

    def names(selector: str) -> list[str]:
        got = dyn.get(cms, namespace=ns, label_selector=selector).to_dict()["items"]
        return sorted(i["metadata"]["name"] for i in got)

    assert names("app.kubernetes.io/instance") == ["x", "y"]
    assert names("app.kubernetes.io/instance=one") == ["x"]
    assert names("app.kubernetes.io/instance!=one") == ["y", "z"]
    assert names("app.kubernetes.io/instance in (one,two),tier=web") == ["x"]
    assert names("!app.kubernetes.io/instance") == ["z"]


def test_watch_streams_changes_after_a_resource_version(api) -> None:
    dyn, ns = api
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    rv = dyn.get(cms, namespace=ns).to_dict()["metadata"]["resourceVersion"]
    seen: list[tuple[str, str]] = []
    w = kwatch.Watch()

    def run() -> None:
        for ev in w.stream(
            cms.get,
            namespace=ns,
            resource_version=rv,
            serialize=False,
            timeout_seconds=10,
            label_selector="watched=yes",
        ):
            seen.append((ev["type"], ev["raw_object"]["metadata"]["name"]))
            if len(seen) == 3:
                w.stop()

    t = threading.Thread(target=run)
    t.start()
    dyn.create(cms, body=_cm("w", {"k": "1"}, {"watched": "yes"}), namespace=ns)
    dyn.create(cms, body=_cm("ignored", {}), namespace=ns)
    dyn.patch(
        cms,
        body={"data": {"k": "2"}},
        name="w",
        namespace=ns,
        content_type="application/merge-patch+json",
    )
    dyn.delete(cms, name="w", namespace=ns)
    t.join(timeout=15)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_server_side_apply_field_managers(api) -> None:
    dyn, ns = api
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"a": "d"}},
            "template": {
                "metadata": {"labels": {"a": "d"}},
                "spec": {"containers": [{"name": "c", "image": "x:1"}]},
            },
        },
    }
    made = dyn.server_side_apply(deps, body=body, namespace=ns, field_manager="shipway").to_dict()
    managers = {m["manager"]: m["operation"] for m in made["metadata"]["managedFields"]}
    assert managers.get("shipway") == "Apply"
    assert made["metadata"]["generation"] == 1

    other = {**body, "spec": {**body["spec"], "replicas": 3}}
    with pytest.raises(ConflictError) as err:
        dyn.server_side_apply(deps, body=other, namespace=ns, field_manager="other")
    assert "replicas" in str(err.value.summary())
    forced = dyn.server_side_apply(
        deps, body=other, namespace=ns, field_manager="other", force_conflicts=True
    ).to_dict()
    assert forced["spec"]["replicas"] == 3 and forced["metadata"]["generation"] == 2
    again = dyn.server_side_apply(
        deps, body=body, namespace=ns, field_manager="shipway", force_conflicts=True
    ).to_dict()
    assert again["spec"]["replicas"] == 1

    slim = {**body, "metadata": {"name": "d", "labels": {"l": "1"}}}
    dyn.server_side_apply(deps, body=slim, namespace=ns, field_manager="shipway")
    smaller = {**slim, "metadata": {"name": "d"}}
    after = dyn.server_side_apply(
        deps, body=smaller, namespace=ns, field_manager="shipway"
    ).to_dict()
    assert "l" not in (after["metadata"].get("labels") or {})  # dropped field is removed


def test_server_side_apply_owns_keyed_list_entries(api) -> None:
    """Lists with a merge key are owned entry by entry, recorded as ``k:{...}``: what the
    three-way diff reads as shipway's last applied configuration."""
    dyn, ns = api
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")

    def body(env: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "k", "labels": {"a": "k"}},
            "spec": {
                "selector": {"matchLabels": {"a": "k"}},
                "template": {
                    "metadata": {"labels": {"a": "k"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "c",
                                "image": "x:1",
                                "env": env,
                                "ports": [{"containerPort": 8080}],
                            }
                        ]
                    },
                },
            },
        }

    both = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    made = dyn.server_side_apply(
        deps, body=body(both), namespace=ns, field_manager="shipway"
    ).to_dict()
    entry = next(m for m in made["metadata"]["managedFields"] if m["manager"] == "shipway")
    assert entry["operation"] == "Apply" and entry["fieldsType"] == "FieldsV1"
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    c = containers['k:{"name":"c"}']
    assert "." in c and "f:image" in c
    assert set(c["f:env"]) >= {'k:{"name":"A"}', 'k:{"name":"B"}'}
    assert 'k:{"containerPort":8080,"protocol":"TCP"}' in c["f:ports"]
    assert "f:a" in entry["fieldsV1"]["f:metadata"]["f:labels"]

    # another manager adds a sidecar entry; shipway's next apply leaves it alone
    side = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "k"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "side", "image": "s:1"}]}},
        },
    }
    dyn.server_side_apply(deps, body=side, namespace=ns, field_manager="injector")
    after = dyn.server_side_apply(
        deps, body=body(both[:1]), namespace=ns, field_manager="shipway"
    ).to_dict()
    names = [x["name"] for x in after["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["c", "side"]
    web = next(x for x in after["spec"]["template"]["spec"]["containers"] if x["name"] == "c")
    assert [e["name"] for e in web["env"]] == ["A"]  # the entry shipway dropped is gone


def _talker(ns: str) -> dict[str, Any]:
    """A Pod whose ``main`` prints three lines (the last after a pause) and exits; ``side``."""
    script = "echo one; echo two; sleep 3; echo three"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "talker", "namespace": ns},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]},
                {
                    "name": "side",
                    "image": "busybox:1.36",
                    "command": ["sh", "-c", "echo side; sleep 600"],
                },
            ],
        },
    }


def _api_error(call: Any) -> tuple[int, str]:
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as err:
        call()
    return err.value.status, str(err.value.body)


def test_pod_log_subresource(api, request: pytest.FixtureRequest) -> None:
    """``pods/NAME/log``: the container's text, tailLines, follow to the container's end, and
    the API's answers for an unnamed container of a two-container Pod, a wrong name, no Pod."""
    import time

    dyn, ns = api
    core = kclient.CoreV1Api(dyn.client)
    core.create_namespaced_pod(ns, _talker(ns))
    fake: FakeKube | None = None
    if request.node.callspec.params["api"] == "fake":
        fake = request.getfixturevalue("fake_kube")
        fake.logs.write(ns, "talker", "one\ntwo\n", container="main")
        fake.logs.write(ns, "talker", "side\n", container="side")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # a real kubelet pulls and starts it first
        phase = core.read_namespaced_pod(name="talker", namespace=ns).status.phase
        if phase in ("Running", "Succeeded"):
            break
        time.sleep(0.5)
    assert core.read_namespaced_pod_log("talker", ns, container="side").startswith("side\n")

    def later() -> None:  # the pause in ``main``, then its last line, then its exit
        assert fake is not None
        time.sleep(0.5)
        fake.logs.write(ns, "talker", "three\n", container="main")
        fake.logs.end(ns, "talker", container="main")

    if fake is not None:
        threading.Thread(target=later, daemon=True).start()
    resp = core.read_namespaced_pod_log("talker", ns, container="main", follow=True,
                                        _preload_content=False)  # fmt: skip
    assert b"".join(resp.stream(64)).decode() == "one\ntwo\nthree\n"  # ends with the container
    tail = core.read_namespaced_pod_log("talker", ns, container="main", tail_lines=2)
    assert tail == "two\nthree\n"

    code, body = _api_error(lambda: core.read_namespaced_pod_log("talker", ns))
    assert code == 400
    assert "a container name must be specified for pod talker, choose one of: [main side]" in body
    code, body = _api_error(lambda: core.read_namespaced_pod_log("talker", ns, container="x"))
    assert code == 400 and "container x is not valid for pod talker" in body
    code, body = _api_error(lambda: core.read_namespaced_pod_log("nosuch", ns))
    assert code == 404 and "nosuch" in body and "NotFound" in body
