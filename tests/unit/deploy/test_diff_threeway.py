"""Removed fields are drift: the three-way comparison with what was applied last."""

from __future__ import annotations

import copy
import json
from typing import Any

from diff_fixtures import desired_as_applied, load

from shipway.deploy import diff
from shipway.deploy.diff import lastapplied


def test_fields_removed_from_git_are_drift_by_shipway_managed_fields() -> None:
    d = diff.compare(load("deployment-desired"), load("deployment-live"))
    assert d.status == diff.OUT_OF_SYNC
    removed = {ln[1:].strip() for ln in d.text.splitlines() if ln.startswith("-") and ":" in ln}
    removed.discard("-- live/apps/Deployment/dev/web")
    assert removed == {"team: a", "tier: frontend", "- name: DEBUG", "value: '1'"}
    assert not [ln for ln in d.text.splitlines() if ln.startswith("+") and "+++" not in ln]


def test_fields_nobody_applied_are_kept() -> None:
    live = load("deployment-live")
    live["metadata"]["labels"]["added-by-hand"] = "x"  # kubectl label: nobody applied it
    assert diff.compare(desired_as_applied(), live).status == diff.SYNCED


def test_without_any_record_nothing_counts_as_removed() -> None:
    live = load("deployment-live")
    del live["metadata"]["managedFields"]
    assert diff.compare(load("deployment-desired"), live).status == diff.SYNCED


def test_other_managers_fields_are_not_shipways_last_applied() -> None:
    live = load("deployment-live")
    live["metadata"]["managedFields"][0]["manager"] = "kubectl"
    assert diff.compare(load("deployment-desired"), live).status == diff.SYNCED


def test_client_side_last_applied_annotation() -> None:
    d = diff.compare(load("service-desired"), load("service-live"))
    assert d.status == diff.OUT_OF_SYNC
    assert "-  type: NodePort\n" in d.text
    assert "-  - name: metrics\n-    port: 9090\n" in d.text
    assert "nodePort" not in d.text and "clusterIP" not in d.text  # server-set, not shown
    # the same Service with git still holding both: in sync, defaults and order aside
    desired = load("service-desired")
    desired["spec"]["type"] = "NodePort"
    desired["spec"]["ports"].append({"name": "metrics", "port": 9090})
    assert diff.compare(desired, load("service-live")).status == diff.SYNCED


def test_a_recorded_last_applied_spec_wins() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}}
    live = {**copy.deepcopy(cm), "data": {"a": "1", "b": "2"}}
    desired = {**copy.deepcopy(cm), "data": {"a": "1"}}
    assert diff.compare(desired, live).status == diff.SYNCED
    d = diff.compare(desired, live, last_applied=live)
    assert d.status == diff.OUT_OF_SYNC and "-  b: '2'\n" in d.text
    results = diff.compare_all(
        [desired], {"/ConfigMap/d/c": live}, last_applied={"/ConfigMap/d/c": live}
    )
    assert results[0].status == diff.OUT_OF_SYNC


def test_removing_every_label_and_a_whole_map() -> None:
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "1"}},
        "data": {"k": "v"},
    }
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    d = diff.compare(desired, cm, last_applied=cm)
    assert d.status == diff.OUT_OF_SYNC
    assert "-data:\n-  k: v\n" in d.text and "-  labels:\n-    a: '1'\n" in d.text
    after = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert diff.compare(desired, after, last_applied=desired).status == diff.SYNCED


def test_key_fields_of_kept_entries_are_not_removed() -> None:
    # the managed-fields key of a port names its defaulted protocol
    live = load("deployment-live")
    entry = live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
    port = entry["f:containers"]['k:{"name":"web"}']["f:ports"]
    port['k:{"containerPort":8080,"protocol":"TCP"}']["f:protocol"] = {}
    assert diff.compare(desired_as_applied(), live).status == diff.SYNCED


def test_owned_reads_fields_v1() -> None:
    live = load("deployment-live")
    part = lastapplied.from_live(live)
    assert part is not None
    assert part["metadata"]["labels"] == {
        "app": "web",
        "app.kubernetes.io/instance": "web-dev",
        "tier": "frontend",
    }
    web = part["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in web] == ["web"]
    assert [e["name"] for e in web[0]["env"]] == ["DEBUG", "LOG_LEVEL"]
    assert "terminationMessagePath" not in web[0]
    assert part["spec"]["selector"] == {"matchLabels": {"app": "web"}}  # a leaf: whole value
    assert lastapplied.owned(["a", "b"], {'v:"b"': {}}) == ["b"]
    assert lastapplied.owned([{"x": 1}, {"x": 2}], {"i:1": {}}) == [{"x": 2}]


def test_broken_last_applied_annotation_is_ignored() -> None:
    live = load("service-live")
    live["metadata"]["annotations"][lastapplied.LAST_APPLIED] = "{not json"
    assert lastapplied.from_live(live) is None
    assert diff.compare(load("service-desired"), live).status == diff.SYNCED
    live["metadata"]["annotations"][lastapplied.LAST_APPLIED] = json.dumps(["a list"])
    assert lastapplied.from_live(live) is None
