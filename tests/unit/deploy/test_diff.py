"""Desired against live: normalisation, projection onto desired fields, ignore rules."""

from __future__ import annotations

from typing import Any

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


def test_changed_image_is_a_unified_diff() -> None:
    d = diff.compare(_deploy("a:2"), _live("a:1"))
    assert d.status == diff.OUT_OF_SYNC
    assert "-      - image: a:1\n+      - image: a:2\n" in d.text
    assert d.text.startswith("--- live/apps/Deployment/dev/web")


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


def test_remove_pointer_escapes_and_lists() -> None:
    obj: dict[str, Any] = {"metadata": {"annotations": {"a/b": "1", "c": "2"}}, "l": [1, 2, 3]}
    diff.remove_pointer(obj, "/metadata/annotations/a~1b")
    diff.remove_pointer(obj, "/l/1")
    diff.remove_pointer(obj, "/does/not/exist")
    assert obj == {"metadata": {"annotations": {"c": "2"}}, "l": [1, 3]}


def test_jq_path_expressions() -> None:
    desired = _deploy("a:1")
    live = _live("a:1")
    live["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "s:1"})
    assert diff.compare(desired, live).status == diff.OUT_OF_SYNC
    rule = diff.IgnoreRule(
        kind="Deployment",
        jq_paths=('.spec.template.spec.containers[] | select(.name == "sidecar")',),
    )
    assert diff.compare(desired, live, [rule]).status == diff.SYNCED
    live["spec"]["replicas"] = 3
    both = diff.IgnoreRule(kind="Deployment", jq_paths=(".spec.replicas", rule.jq_paths[0]))
    assert diff.compare(desired, live, [both]).status == diff.SYNCED


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
    rule = diff.IgnoreRule(kind="Deployment", managers=("hpa-controller",))
    assert diff.compare(desired, live, [rule]).status == diff.SYNCED
    other = diff.IgnoreRule(kind="Deployment", managers=("someone-else",))
    assert diff.compare(desired, live, [other]).status == diff.OUT_OF_SYNC


def test_unsupported_jq_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="unsupported jq"):
        diff.compare(_deploy("a:1"), _live("a:1"), [diff.IgnoreRule(kind="*", jq_paths=("..a",))])
