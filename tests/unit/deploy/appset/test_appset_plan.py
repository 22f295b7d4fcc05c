"""``plan.changes``: generated Applications against existing ones, per applicationsSync policy."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from appset_inputs import FakeInputs, appset, spec_yaml

from shipway.deploy.appset import plan
from shipway.model.resources import Resource


def _set(elements: list[str], policy: str | None = None, **extra: Any) -> Resource:
    spec: dict[str, Any] = {
        "generators": [{"list": {"elements": [{"c": e} for e in elements]}}],
        "template": {"metadata": {"name": "app-{{c}}"},
                     "spec": {"source": {"repoURL": "https://g/x.git", "path": "{{c}}"},
                              "destination": {"name": "local", "namespace": "x"}}},
        **extra,
    }  # fmt: skip
    if policy:
        spec["syncPolicy"] = {"applicationsSync": policy}
    return appset(spec_yaml(spec))


def _stored(body: dict[str, Any]) -> Resource:
    meta = body["metadata"]
    return Resource(body["apiVersion"], "Application", meta["name"], meta["namespace"],
                    copy.deepcopy(body))  # fmt: skip


def _existing(elements: list[str]) -> list[Resource]:
    return [_stored(a) for a in plan.desired(_set(elements), FakeInputs())]


@pytest.mark.parametrize(
    ("policy", "created", "updated", "deleted"),
    [
        ("sync", ["app-c"], ["app-b"], ["app-a"]),
        ("create-only", ["app-c"], [], []),
        ("create-update", ["app-c"], ["app-b"], []),
        ("create-delete", ["app-c"], [], ["app-a"]),
    ],
)
def test_policies(policy: str, created: list[str], updated: list[str], deleted: list[str]) -> None:
    existing = _existing(["a", "b"])
    existing[1].body["spec"]["source"]["path"] = "edited-by-hand"
    new = _set(["b", "c"], policy)
    changes = plan.changes(new, plan.desired(new, FakeInputs()), existing)
    assert [a["metadata"]["name"] for a in changes.create] == created
    assert [a["metadata"]["name"] for a in changes.update] == updated
    assert [r.name for r in changes.delete] == deleted
    assert len(changes.held) == 2 - len(updated) - len(deleted)


def test_unchanged_and_preserved_fields() -> None:
    existing = _existing(["a"])
    existing[0].body["metadata"]["annotations"] = {"notified": "yes", "other": "x"}
    new = _set(["a"], preservedFields={"annotations": ["notified"]})
    changes = plan.changes(new, plan.desired(new, FakeInputs()), existing)
    (body,) = changes.update  # 'other' is dropped; 'notified' is kept
    assert body["metadata"]["annotations"] == {"notified": "yes"}
    again = plan.changes(new, plan.desired(new, FakeInputs()), [_stored(body)])
    assert (again.update, again.unchanged) == ([], ["app-a"])


def test_not_owned_is_a_conflict_and_never_deleted() -> None:
    (mine,) = _existing(["a"])
    foreign = _stored(mine.body)
    foreign.body["metadata"].pop("ownerReferences")
    other_set = _stored(mine.body)
    other_set.name = other_set.body["metadata"]["name"] = "app-z"
    other_set.body["metadata"]["ownerReferences"][0]["name"] = "someone-else"
    s = _set(["a"])
    changes = plan.changes(s, plan.desired(s, FakeInputs()), [foreign, other_set])
    assert changes.create == [] and changes.delete == []
    assert changes.conflicts == ["Application 'app-a' already exists in namespace 'argocd' "
                                 "and is not owned by ApplicationSet set"]  # fmt: skip


def test_preserve_marks_the_applications() -> None:
    s = _set(["a"], None, syncPolicy={"preserveResourcesOnDeletion": True})
    (app,) = plan.desired(s, FakeInputs())
    assert app["metadata"]["annotations"] == {plan.PRESERVE: "true"}
