"""Sync order: waves, then kind order, then name; prune after, in reverse."""

from __future__ import annotations

from typing import Any

from shipway.deploy import diff, sync


def _o(kind: str, name: str, wave: int | None = None, hook: str | None = None) -> dict[str, Any]:
    ann = {}
    if wave is not None:
        ann[sync.WAVE_ANNOTATION] = str(wave)
    if hook:
        ann[sync.HOOK_ANNOTATION] = hook
    api = "apps/v1" if kind == "Deployment" else "v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "annotations": ann}}


def test_waves_then_kind_order_and_hooks_left_out() -> None:
    desired = [
        _o("Deployment", "web"),
        _o("Service", "web"),
        _o("ConfigMap", "cfg"),
        _o("Namespace", "ns"),
        _o("ConfigMap", "late", wave=5),
        _o("Pod", "migrate", hook="PreSync"),
    ]
    plan = sync.plan([diff.compare(o, None) for o in desired], prune=True)
    assert [(w, [o["metadata"]["name"] for o in objs]) for w, objs in plan.waves] == [
        (0, ["ns", "cfg", "web", "web"]),
        (5, ["late"]),
    ]
    assert [o["kind"] for o in plan.waves[0][1]] == [
        "Namespace",
        "ConfigMap",
        "Service",
        "Deployment",
    ]
    assert [o["metadata"]["name"] for o in sync.hooks(desired, "PreSync")] == ["migrate"]


def test_prune_only_when_asked_and_out_of_sync_only() -> None:
    same = _o("ConfigMap", "same")
    diffs = [
        diff.compare(same, same),
        diff.compare(None, _o("Deployment", "old")),
        diff.compare(None, _o("ConfigMap", "old")),
    ]
    plan = sync.plan(diffs, prune=False)
    assert plan.prune == [] and len(plan.skipped_prune) == 2
    plan = sync.plan(diffs, prune=True, apply_out_of_sync_only=True)
    assert plan.waves == []
    assert [o["kind"] for o in plan.prune] == ["Deployment", "ConfigMap"]


def test_prune_false_annotation_keeps_an_object() -> None:
    keep = _o("ConfigMap", "keep")
    keep["metadata"]["annotations"][sync.SYNC_OPTIONS_ANNOTATION] = "Prune=false, Delete=false"
    diffs = [diff.compare(None, keep), diff.compare(None, _o("ConfigMap", "gone"))]
    plan = sync.plan(diffs, prune=True)
    assert [o["metadata"]["name"] for o in plan.prune] == ["gone"]
    assert [o["metadata"]["name"] for o in plan.skipped_prune] == ["keep"]
    assert sync.sync_options(keep) == {"Prune=false", "Delete=false"}


def test_prune_in_its_wave_or_last() -> None:
    desired = [_o("ConfigMap", "a"), _o("Deployment", "b", wave=2)]
    old_early, old_late = _o("ConfigMap", "old1"), _o("ConfigMap", "old2", wave=2)
    pinned = _o("Secret", "old3", wave=1)
    pinned["metadata"]["annotations"][sync.SYNC_OPTIONS_ANNOTATION] = "PruneLast=true"
    diffs = [diff.compare(o, None) for o in desired] + [
        diff.compare(None, o) for o in (old_early, old_late, pinned)
    ]
    plan = sync.plan(diffs, prune=True)

    def names(step: tuple) -> tuple:
        wave, apply, prune = step
        return wave, [o["metadata"]["name"] for o in apply], [o["metadata"]["name"] for o in prune]

    assert [names(s) for s in plan.steps()] == [
        (0, ["a"], ["old1"]),
        (2, ["b"], ["old2"]),
        (None, [], ["old3"]),
    ]
    assert [names(s) for s in plan.steps(prune_last=True)] == [
        (0, ["a"], []),
        (2, ["b"], []),
        (None, [], ["old2", "old3", "old1"]),
    ]
