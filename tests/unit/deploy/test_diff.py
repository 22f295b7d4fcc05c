"""Desired against live: server fields, defaults, the unified diff, ignore rules (real jq)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from diff_fixtures import container, desired_as_applied, load

from shipway.deploy import diff


def _deploy(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "dev"},
        "spec": {
            "replicas": 1,
            "template": {"spec": {"containers": [{"name": "c", "image": image}]}},
        },
    }


def _live(image: str) -> dict[str, Any]:
    obj = _deploy(image)
    obj["metadata"].update(uid="u", resourceVersion="7", managedFields=[{"manager": "x"}])
    obj["spec"]["progressDeadlineSeconds"] = 600
    obj["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/x"
    obj["status"] = {"replicas": 1}
    return obj


def test_server_fields_and_defaults_are_not_differences() -> None:
    d = diff.compare(_deploy("a:1"), _live("a:1"))
    assert d.status == diff.SYNCED and d.text == ""


def test_api_server_object_with_defaults_webhook_sidecar_and_equivalent_forms_is_synced() -> None:
    d = diff.compare(desired_as_applied(), load("deployment-live"))
    assert d.status == diff.SYNCED, d.text


def test_changed_image_is_a_unified_diff() -> None:
    d = diff.compare(_deploy("a:2"), _live("a:1"))
    assert d.status == diff.OUT_OF_SYNC
    assert "-      - image: a:1\n+      - image: a:2\n" in d.text
    assert d.text.startswith("--- live/apps/Deployment/dev/web")


def test_changed_field_in_one_container_shows_that_container_only() -> None:
    desired = desired_as_applied()
    desired["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.local/web:1.5.0"
    d = diff.compare(desired, load("deployment-live"))
    assert d.status == diff.OUT_OF_SYNC
    assert "-        image: registry.local/web:1.4.0\n" in d.text
    assert "+        image: registry.local/web:1.5.0\n" in d.text
    assert "istio" not in d.text  # the webhook's sidecar is not part of the diff
    assert "terminationMessagePath" not in d.text  # nor are server defaults


def test_missing_and_extra_objects() -> None:
    results = diff.compare_all(
        [_deploy("a:1")],
        {
            "/ConfigMap/dev/old": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "old", "namespace": "dev"},
            }
        },
    )
    assert [(r.key, r.status, r.desired is None, r.live is None) for r in results] == [
        ("apps/Deployment/dev/web", "OutOfSync", False, True),
        ("/ConfigMap/dev/old", "OutOfSync", True, False),
    ]


def test_json_pointer_ignore_rule() -> None:
    rule = diff.IgnoreRule(kind="Deployment", group="apps", json_pointers=("/spec/replicas",))
    live = _live("a:1")
    live["spec"]["replicas"] = 5
    assert diff.compare(_deploy("a:1"), live).status == diff.OUT_OF_SYNC
    assert diff.compare(_deploy("a:1"), live, [rule]).status == diff.SYNCED
    other = diff.IgnoreRule(kind="StatefulSet", json_pointers=("/spec/replicas",))
    assert diff.compare(_deploy("a:1"), live, [other]).status == diff.OUT_OF_SYNC


def test_rule_without_group_matches_the_core_group_only() -> None:
    live = _live("a:1")
    live["spec"]["replicas"] = 5
    no_group = diff.IgnoreRule(kind="Deployment", json_pointers=("/spec/replicas",))
    assert diff.compare(_deploy("a:1"), live, [no_group]).status == diff.OUT_OF_SYNC
    any_group = diff.IgnoreRule(kind="Deployment", group="*", json_pointers=("/spec/replicas",))
    assert diff.compare(_deploy("a:1"), live, [any_group]).status == diff.SYNCED
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1"}}
    cm_live = {**copy.deepcopy(cm), "data": {"k": "2"}}
    core = diff.IgnoreRule(kind="ConfigMap", json_pointers=("/data/k",))
    assert diff.compare(cm, cm_live, [core]).status == diff.SYNCED


def test_remove_pointer_escapes_and_lists() -> None:
    obj: dict[str, Any] = {"metadata": {"annotations": {"a/b": "1", "c": "2"}}, "l": [1, 2, 3]}
    diff.remove_pointer(obj, "/metadata/annotations/a~1b")
    diff.remove_pointer(obj, "/l/1")
    diff.remove_pointer(obj, "/does/not/exist")
    assert obj == {"metadata": {"annotations": {"c": "2"}}, "l": [1, 3]}


def test_jq_select_over_a_list_a_webhook_changed() -> None:
    desired = desired_as_applied()
    live = load("deployment-live")
    sidecar = container(live, "istio-proxy")
    # a sidecar git also declares, whose image the webhook rewrites
    desired["spec"]["template"]["spec"]["containers"].append(
        {**sidecar, "image": "istio/proxyv2:auto"}
    )
    assert diff.compare(desired, live).status == diff.OUT_OF_SYNC
    rule = diff.IgnoreRule(
        kind="Deployment",
        group="apps",
        jq_paths=('.spec.template.spec.containers[] | select(.name == "istio-proxy") | .image',),
    )
    assert diff.compare(desired, live, [rule]).status == diff.SYNCED
    live["spec"]["replicas"] = 3
    both = diff.IgnoreRule(
        kind="Deployment", group="apps", jq_paths=(".spec.replicas", rule.jq_paths[0])
    )
    assert diff.compare(desired, live, [both]).status == diff.SYNCED


def test_jq_optional_iteration_from_argo_cd_docs() -> None:
    live = load("webhook-live")
    desired = copy.deepcopy(live)
    del desired["webhooks"][0]["clientConfig"]["caBundle"]
    desired["webhooks"][0]["clientConfig"]["caBundle"] = "stale"
    for meta in ("uid", "resourceVersion"):
        desired["metadata"].pop(meta)
    group = "admissionregistration.k8s.io"
    kind = "ValidatingWebhookConfiguration"
    assert diff.compare(desired, live).status == diff.OUT_OF_SYNC
    rule = diff.IgnoreRule(kind=kind, group=group, jq_paths=(".webhooks[]?.clientConfig.caBundle",))
    assert diff.compare(desired, live, [rule]).status == diff.SYNCED
    # the same expression on an object with no webhooks at all is no error
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    star = diff.IgnoreRule(kind="*", group="*", jq_paths=(".webhooks[]?.clientConfig.caBundle",))
    assert diff.compare(cm, cm, [star]).status == diff.SYNCED


def test_jq_forms_beyond_paths() -> None:
    desired = desired_as_applied()
    live = load("deployment-live")
    live["metadata"]["annotations"]["checksum/config"] = "abc"
    live["metadata"]["annotations"]["checksum/secret"] = "def"
    desired["metadata"]["annotations"]["checksum/config"] = "old"
    desired["metadata"]["annotations"]["checksum/secret"] = "old"
    rule = diff.IgnoreRule(
        kind="Deployment",
        group="apps",
        jq_paths=('.metadata.annotations["checksum/config", "checksum/secret"]',),
    )
    assert diff.compare(desired, live).status == diff.OUT_OF_SYNC
    assert diff.compare(desired, live, [rule]).status == diff.SYNCED
    recursive = diff.IgnoreRule(kind="*", group="*", jq_paths=('..|.["checksum/config"]?',))
    only_config = diff.compare(desired, live, [recursive])
    assert only_config.status == diff.OUT_OF_SYNC and "checksum/secret" in only_config.text
    assert "checksum/config" not in only_config.text


def test_managed_fields_managers() -> None:
    desired = _deploy("a:1")
    live = _live("a:1")
    live["spec"]["replicas"] = 5
    live["metadata"]["managedFields"] = [
        {
            "manager": "hpa-controller",
            "operation": "Update",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        },
    ]
    assert diff.compare(desired, live).status == diff.OUT_OF_SYNC
    rule = diff.IgnoreRule(kind="Deployment", group="apps", managers=("hpa-controller",))
    assert diff.compare(desired, live, [rule]).status == diff.SYNCED
    other = diff.IgnoreRule(kind="Deployment", group="apps", managers=("someone-else",))
    assert diff.compare(desired, live, [other]).status == diff.OUT_OF_SYNC


def test_bad_jq_names_the_rule_even_when_nothing_matches() -> None:
    rule = diff.IgnoreRule(kind="StatefulSet", group="apps", jq_paths=("..a",), index=2)
    with pytest.raises(diff.RuleError) as err:
        diff.compare_all([_deploy("a:1")], {}, [rule])
    text = str(err.value)
    assert text.startswith("ignoreDifferences[2] (apps/StatefulSet): jq expression '..a':")
    assert "syntax error" in text and "\n" not in text
