"""Equivalent forms are no difference; Secret values are never shown; scope from discovery."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from diff_fixtures import load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipway.deploy import diff
from shipway.deploy.diff import normalize


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (0.2, "200m"),
        (1, "1"),
        ("1Gi", "1024Mi"),
        ("0.5Gi", "512Mi"),
        ("1e3", "1k"),
        ("1500m", "1.5"),
        (".1", "100m"),
        ("128974848", "123Mi"),
        ("1G", "1000M"),
        (0, "0m"),
    ],
)
def test_equal_quantities(a: Any, b: Any) -> None:
    assert normalize.quantity(a) == normalize.quantity(b)


@pytest.mark.parametrize(("a", "b"), [("1", "2"), ("1Gi", "1G"), ("100m", "0.01"), ("1Ki", "1k")])
def test_different_quantities(a: Any, b: Any) -> None:
    assert normalize.quantity(a) != normalize.quantity(b)


def test_not_a_quantity_is_left_alone() -> None:
    assert normalize.quantity("lots") == "lots"
    assert normalize.quantity(True) is True


def _pod(**resources: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]},
    }


def test_resource_quantities_in_a_pod() -> None:
    desired = _pod(requests={"cpu": 0.2, "memory": "1024Mi"}, limits={"cpu": 1})
    live = _pod(requests={"cpu": "200m", "memory": "1Gi"}, limits={"cpu": "1"})
    assert diff.compare(desired, live).status == diff.SYNCED
    changed = _pod(requests={"cpu": "250m", "memory": "1Gi"}, limits={"cpu": "1"})
    assert diff.compare(desired, changed).status == diff.OUT_OF_SYNC


def test_pvc_and_quota_and_empty_dir_quantities() -> None:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"resources": {"requests": {"storage": "2048Mi"}}},
    }
    live = copy.deepcopy(pvc)
    live["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert diff.compare(pvc, live).status == diff.SYNCED
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}}
    q_live = {**quota, "spec": {"hard": {"cpu": "2", "memory": "4Gi"}}}
    q_desired = {**quota, "spec": {"hard": {"cpu": 2, "memory": "4096Mi"}}}
    assert diff.compare(q_desired, q_live).status == diff.SYNCED
    pod = _pod()
    pod["spec"]["volumes"] = [{"name": "t", "emptyDir": {"sizeLimit": "1024Mi"}}]
    pod_live = copy.deepcopy(pod)
    pod_live["spec"]["volumes"][0]["emptyDir"]["sizeLimit"] = "1Gi"
    assert diff.compare(pod, pod_live).status == diff.SYNCED


def test_creation_timestamp_null_and_empty_forms_against_absent() -> None:
    desired: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "creationTimestamp": None, "annotations": {}, "labels": None},
        "spec": {
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"a": "b"}},
                "spec": {
                    "containers": [{"name": "c", "image": "i", "args": [], "command": None}],
                    "initContainers": [],
                    "hostname": "",
                    "nodeSelector": {},
                },
            }
        },
        "status": {},
    }
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "creationTimestamp": "2026-11-30T10:00:00Z"},
        "spec": {
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            }
        },
    }
    assert diff.compare(desired, live).status == diff.SYNCED


def test_empty_string_values_in_free_form_maps_are_values() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": ""}}
    live = {**cm, "data": {"k": "x"}}
    d = diff.compare(cm, live)
    assert d.status == diff.OUT_OF_SYNC and "+  k: ''\n" in d.text


def test_numbers_and_strings_of_the_same_value() -> None:
    desired = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80, "targetPort": "8080"}]}}  # fmt: skip
    live = copy.deepcopy(desired)
    live["spec"]["ports"][0]["targetPort"] = 8080
    assert diff.compare(desired, live).status == diff.SYNCED


def test_list_entries_are_matched_by_merge_key() -> None:
    live = load("deployment-live")
    desired = copy.deepcopy(live)
    del desired["metadata"]["managedFields"]
    web = desired["spec"]["template"]["spec"]["containers"]
    web.reverse()  # order of keyed entries is no difference
    web[0]["env"].reverse()
    assert diff.compare(desired, live).status == diff.SYNCED
    web[0]["env"].append({"name": "NEW", "value": "1"})
    d = diff.compare(desired, live)
    assert d.status == diff.OUT_OF_SYNC
    plus = [ln for ln in d.text.splitlines() if ln.startswith("+") and "+++" not in ln]
    assert plus == ["+        - name: NEW", "+          value: '1'"]


def test_ports_keyed_by_container_port_with_default_protocol() -> None:
    pod = _pod()
    pod["spec"]["containers"][0]["ports"] = [
        {"containerPort": 80},
        {"containerPort": 53, "protocol": "UDP"},
    ]
    live = copy.deepcopy(pod)
    live["spec"]["containers"][0]["ports"] = [
        {"containerPort": 53, "protocol": "UDP"},
        {"containerPort": 80, "protocol": "TCP"},
    ]
    assert diff.compare(pod, live).status == diff.SYNCED


def test_secret_string_data_against_data() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "dev",
            "labels": {"app.kubernetes.io/instance": "web-dev"},
        },
        "type": "Opaque",
        "stringData": {"username": "admin"},
        "data": {"password": base64.b64encode(b"hunter2").decode()},
    }
    assert diff.compare(desired, load("secret-live")).status == diff.SYNCED
    desired["stringData"]["username"] = "root"
    assert diff.compare(desired, load("secret-live")).status == diff.OUT_OF_SYNC


def test_secret_values_are_never_printed() -> None:
    live = load("secret-live")
    desired = copy.deepcopy(live)
    for k in ("uid", "resourceVersion", "creationTimestamp"):
        del desired["metadata"][k]
    desired["data"] = {"username": live["data"]["username"], "token": "c2VjcmV0"}
    desired["stringData"] = {"password": "correct horse"}
    d = diff.compare(desired, live)
    assert d.status == diff.OUT_OF_SYNC
    for value in ("YWRtaW4=", "aHVudGVyMg==", "c2VjcmV0", "correct horse", "Y29ycmVjdCBob3JzZQ=="):
        assert value not in d.text
    assert "   username: ++++++++\n" in d.text  # unchanged: shown, masked
    assert "-  password: ++++++++\n+  password: +++++++++\n" in d.text  # changed
    assert "+  token: +++++++++\n" in d.text  # added
    gone = diff.compare(None, live)
    assert "aHVudGVyMg==" not in gone.text and "password: ++++++++" in gone.text
    new = diff.compare(desired, None)
    assert "c2VjcmV0" not in new.text and "correct horse" not in new.text


def test_namespace_on_a_cluster_scoped_object() -> None:
    live = load("clusterrole-live")
    desired = copy.deepcopy(live)
    desired["metadata"] = {"name": "web-reader", "namespace": "dev",
                           "labels": {"app.kubernetes.io/instance": "web-dev"}}  # fmt: skip
    key = "rbac.authorization.k8s.io/ClusterRole//web-reader"

    def scope(group: str, kind: str) -> bool:
        return kind == "ClusterRole"

    results = diff.compare_all([desired], {key: live}, scope=scope)
    assert [(r.key, r.status) for r in results] == [(key, diff.SYNCED)]
    assert results[0].desired is not None and "namespace" not in results[0].desired["metadata"]
    # a namespaced kind keeps its namespace (a different object than the live one)
    other = diff.compare_all([desired], {key: live}, scope=lambda g, k: False)
    assert [r.status for r in other] == [diff.OUT_OF_SYNC, diff.OUT_OF_SYNC]


def test_scope_comes_from_the_targets_discovery() -> None:
    from shipway.deploy import compare

    class Discovered:
        def cluster_scoped(self, group: str, kind: str) -> bool | None:
            return {("example.com", "Widget"): True, ("", "Namespace"): False}.get((group, kind))

    scope = compare._scope(Discovered())  # type: ignore[arg-type]
    assert scope("example.com", "Widget") is True  # a cluster-scoped custom kind
    assert scope("", "Namespace") is False  # discovery wins over the built-in list
    assert scope("rbac.authorization.k8s.io", "ClusterRole") is True  # not served: built-in list
    assert scope("apps", "Deployment") is False
    assert compare._scope(object())("", "Namespace") is True  # type: ignore[arg-type]


@settings(deadline=None)
@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("k", 10**3), ("M", 10**6)]),
)
def test_any_suffix_equals_its_plain_number(n: int, suffix: tuple[str, int]) -> None:
    name, mult = suffix
    assert normalize.quantity(f"{n}{name}") == normalize.quantity(str(n * mult))
    assert normalize.quantity(f"{n}m") == normalize.quantity(f"{n / 1000:.3f}")
    assert (normalize.quantity(f"{n}{name}") == normalize.quantity(f"{n + 1}{name}")) is False


_scalars = st.one_of(st.text(max_size=5), st.integers(), st.booleans())
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["spec", "data", "rules", "x"]), _json, max_size=3))
def test_an_object_is_in_sync_with_itself_whatever_was_applied(body: dict[str, Any]) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, **body}
    assert diff.compare(obj, copy.deepcopy(obj)).status == diff.SYNCED
    assert diff.compare(obj, copy.deepcopy(obj), last_applied=obj).status == diff.SYNCED
