"""Sync order as Argo CD's gitops-engine orders tasks: phase, wave, kind, name; prunes
mirrored; hooks interleaved with waves; Helm hook annotations mapped."""

from __future__ import annotations

from typing import Any

from shipway.deploy import diff, sync


def _o(
    kind: str,
    name: str,
    wave: int | None = None,
    hook: str | None = None,
    ns: str | None = None,
    **annotations: str,
) -> dict[str, Any]:
    ann = dict(annotations)
    if wave is not None:
        ann[sync.WAVE_ANNOTATION] = str(wave)
    if hook:
        ann[sync.HOOK_ANNOTATION] = hook
    api = {"Deployment": "apps/v1", "Job": "batch/v1"}.get(kind, "v1")
    if kind == "CustomResourceDefinition":
        api = "apiextensions.k8s.io/v1"
    meta: dict[str, Any] = {"name": name, "annotations": ann}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def _helm(kind: str, name: str, hook: str, **extra: str) -> dict[str, Any]:
    obj = _o(kind, name)
    obj["metadata"]["annotations"]["helm.sh/hook"] = hook
    obj["metadata"]["annotations"].update(extra)
    return obj


def _plan(desired: list[dict[str, Any]], **kw: Any) -> sync.Plan:
    resources = [o for o in desired if not sync.is_hook(o) and sync.hook_of(o) is None]
    hooks = [o for o in desired if sync.hook_of(o) not in (None, "Skip")]
    return sync.plan([diff.compare(o, None) for o in resources], hooks, prune=True, **kw)


def _steps(plan: sync.Plan) -> list[tuple[str, int, list[str]]]:
    return [
        (s.phase, s.wave, [("-" if t.prune else "") + f"{t.kind}/{t.name}" for t in s.tasks])
        for s in plan.steps()
    ]


def test_phases_then_waves_then_kind_then_name() -> None:
    desired = [
        _o("Deployment", "web"),
        _o("Service", "web"),
        _o("ConfigMap", "cfg"),
        _o("ConfigMap", "b-cfg"),
        _o("ConfigMap", "late", wave=5),
        _o("Widget", "custom"),  # a kind not in the table (a custom resource): last
        _o("Secret", "early", wave=-1),
        _o("Pod", "migrate", hook="PreSync"),
        _o("Pod", "smoke", hook="PostSync"),
    ]
    plan = _plan(desired)
    assert _steps(plan) == [
        ("PreSync", 0, ["Pod/migrate"]),
        ("Sync", -1, ["Secret/early"]),
        (
            "Sync",
            0,
            ["ConfigMap/b-cfg", "ConfigMap/cfg", "Service/web", "Deployment/web", "Widget/custom"],
        ),
        ("Sync", 5, ["ConfigMap/late"]),
        ("PostSync", 0, ["Pod/smoke"]),
    ]
    assert plan.multi_step


def test_a_sync_hook_runs_between_the_waves_around_it() -> None:
    desired = [
        _o("ConfigMap", "zero", wave=0),
        _o("Deployment", "two", wave=2),
        _o("Job", "between", wave=1, hook="Sync"),
        _o("ConfigMap", "one", wave=1),
    ]
    plan = _plan(desired)
    assert _steps(plan) == [
        ("Sync", 0, ["ConfigMap/zero"]),
        ("Sync", 1, ["ConfigMap/one", "Job/between"]),  # one wave: resources and hook together
        ("Sync", 2, ["Deployment/two"]),
    ]
    [hook] = plan.steps()[1].tasks[1:]
    assert hook.hook and hook.hook_type == "Sync" and hook.id == "Sync:batch/Job//between"
    assert [t.hook_type for t in plan.steps()[0].tasks] == [""]


def test_waits_for_health_between_steps_not_after_a_last_plain_apply() -> None:
    plan = _plan([_o("ConfigMap", "a", wave=0), _o("Deployment", "b", wave=1)])
    first, last = plan.steps()
    assert plan.waits_for_health(first, last=False)
    assert not plan.waits_for_health(last, last=True)
    single = _plan([_o("ConfigMap", "a"), _o("Pod", "h", hook="Sync")])
    [only] = single.steps()
    assert not single.multi_step and not single.waits_for_health(only, last=True)
    ended = _plan([_o("ConfigMap", "a"), _o("Pod", "h", wave=3, hook="Sync")])
    assert ended.waits_for_health(ended.steps()[-1], last=True)  # a last step with a hook


def test_hook_in_several_phases_is_one_task_per_phase() -> None:
    plan = _plan([_o("Pod", "twice", hook="PreSync, PostSync"), _o("ConfigMap", "c")])
    assert [(t.phase, t.name) for t in plan.tasks] == [
        ("PreSync", "twice"),
        ("Sync", "c"),
        ("PostSync", "twice"),
    ]
    assert len({t.id for t in plan.tasks}) == 3


def test_sync_fail_hooks_apart_and_skip_never_runs() -> None:
    skipped = _o("ConfigMap", "skipped", hook="Skip")
    plan = _plan(
        [
            _o("Pod", "page", hook="SyncFail"),
            _o("ConfigMap", "c"),
            skipped,
            _o("Pod", "pre-del", hook="PreDelete"),
            _o("Pod", "unknown", hook="Sometimes"),
        ]
    )
    assert [t.name for t in plan.tasks] == ["c"]
    assert [(t.phase, t.name) for t in plan.sync_fail] == [("SyncFail", "page")]
    assert sync.hook_of(skipped) == "Skip" and not sync.is_hook(skipped)
    assert sync.hook_phases(_o("Pod", "x", hook="PreDelete")) == []


def test_generate_name_gives_one_name_per_sync() -> None:
    hook = _o("Job", "", hook="PreSync,PostSync")
    del hook["metadata"]["name"]
    hook["metadata"]["generateName"] = "migrate-"
    rev = "0123456789abcdef0123456789abcdef01234567"
    plan = sync.plan([], [hook], prune=False, revision=rev, started=1700000000)
    assert [t.name for t in plan.tasks] == [
        "migrate-0123456-presync-1700000000",
        "migrate-0123456-postsync-1700000000",
    ]
    assert all("generateName" not in t.obj["metadata"] for t in plan.tasks)
    assert "name" not in hook["metadata"]  # the manifest itself is left alone
    again = sync.plan([], [hook], prune=False, revision=rev, started=1700000000)
    assert [t.name for t in again.tasks] == [t.name for t in plan.tasks]  # a resumed sync
    later = sync.plan([], [hook], prune=False, revision=rev, started=1700000009)
    assert later.tasks[0].name != plan.tasks[0].name  # the next sync: a new hook
    named = _o("Job", "fixed", hook="PreSync")
    assert sync.plan([], [named], prune=False, started=1).tasks[0].name == "fixed"


def test_helm_hooks_map_as_argo_cd_maps_them() -> None:
    pre = _helm("Job", "pre", "pre-install,pre-upgrade", **{"helm.sh/hook-weight": "-2"})
    post = _helm("Job", "post", "post-upgrade", **{"helm.sh/hook-delete-policy": "hook-succeeded"})
    test = _helm("Pod", "test", "test")
    test_success = _helm("Pod", "test-ok", "test-success")
    delete = _helm("Job", "cleanup", "pre-delete")
    crd = _helm("CustomResourceDefinition", "widgets.example.com", "crd-install")
    assert sync.hook_types(pre) == ["PreSync"] and sync.wave_of(pre) == -2
    assert sync.hook_types(post) == ["PostSync"]
    assert sync.delete_policies(post) == {"HookSucceeded"}
    assert sync.delete_policies(pre) == {"BeforeHookCreation"}  # the default
    for ignored in (test, test_success):
        assert sync.is_hook(ignored) and sync.hook_of(ignored) == "Skip"  # never applied
        assert sync.hook_phases(ignored) == []
    assert sync.hook_types(delete) == ["PreDelete"] and sync.hook_phases(delete) == []
    assert not sync.is_hook(crd) and sync.hook_of(crd) is None  # applied as any CRD
    plan = _plan([pre, post, test, delete, crd, _o("ConfigMap", "c")])
    assert _steps(plan) == [
        ("PreSync", -2, ["Job/pre"]),
        ("Sync", 0, ["ConfigMap/c", "CustomResourceDefinition/widgets.example.com"]),
        ("PostSync", 0, ["Job/post"]),
    ]


def test_argo_cd_annotation_wins_over_helm() -> None:
    both = _helm(
        "Job",
        "j",
        "pre-install",
        **{
            sync.HOOK_ANNOTATION: "PostSync",
            "helm.sh/hook-weight": "7",
            sync.WAVE_ANNOTATION: "3",
            "argocd.argoproj.io/hook-delete-policy": "HookFailed",
            "helm.sh/hook-delete-policy": "before-hook-creation",
        },
    )
    assert sync.hook_types(both) == ["PostSync"]
    assert sync.wave_of(both) == 3
    assert sync.delete_policies(both) == {"HookFailed", "BeforeHookCreation"}
    weighted = _o("ConfigMap", "w", **{"helm.sh/hook-weight": "4"})
    assert sync.wave_of(weighted) == 4
    assert sync.wave_of(_o("ConfigMap", "bad", **{sync.WAVE_ANNOTATION: "soon"})) == 0
    kept = _o("ConfigMap", "k", **{"helm.sh/resource-policy": "keep"})
    assert "Delete=false" in sync.sync_options(kept)


def test_namespace_and_crd_move_before_what_needs_them() -> None:
    desired = [
        _o("Namespace", "team", wave=3),
        _o("ConfigMap", "in-team", wave=1, ns="team"),
        _o("CustomResourceDefinition", "widgets.example.com", wave=2),
        _o("Pod", "pre", hook="PreSync", ns="other"),
        _o("Namespace", "other"),
    ]
    desired[2]["spec"] = {"group": "example.com", "names": {"kind": "Widget"}}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    widget["metadata"]["annotations"] = {sync.WAVE_ANNOTATION: "1"}
    plan = _plan([*desired, widget])
    assert _steps(plan) == [
        ("PreSync", 0, ["Namespace/other", "Pod/pre"]),
        (
            "Sync",
            1,
            [
                "Namespace/team",
                "ConfigMap/in-team",
                "CustomResourceDefinition/widgets.example.com",
                "Widget/w",
            ],
        ),
    ]


def test_prune_mirrors_waves_and_runs_before_applies() -> None:
    desired = [_o("ConfigMap", "a"), _o("Deployment", "b", wave=2)]
    old_early, old_late = _o("ConfigMap", "old1"), _o("ConfigMap", "old2", wave=2)
    pinned = _o("Secret", "old3", wave=1)
    pinned["metadata"]["annotations"][sync.SYNC_OPTIONS_ANNOTATION] = "PruneLast=true"
    diffs = [diff.compare(o, None) for o in desired] + [
        diff.compare(None, o) for o in (old_early, old_late, pinned)
    ]
    plan = sync.plan(diffs, prune=True)
    assert _steps(plan) == [
        ("Sync", 0, ["ConfigMap/a", "-ConfigMap/old2"]),  # created in wave 2: deleted first
        ("Sync", 2, ["-ConfigMap/old1", "Deployment/b"]),
        ("Sync", 3, ["-Secret/old3"]),  # PruneLast: after the last Sync wave
    ]
    assert [t.name for t in plan.steps()[0].prunes] == ["old2"]
    assert [t.name for t in plan.steps()[0].applies] == ["a"]
    last = sync.plan(diffs, prune=True, prune_last=True)
    assert _steps(last)[-1] == ("Sync", 3, ["-Secret/old3", "-ConfigMap/old1", "-ConfigMap/old2"])


def test_prune_only_when_asked_and_out_of_sync_only() -> None:
    same = _o("ConfigMap", "same")
    changed = _o("ConfigMap", "changed", wave=1)
    diffs = [
        diff.compare(same, same),
        diff.compare(changed, None),
        diff.compare(None, _o("Deployment", "old")),
        diff.compare(None, _o("ConfigMap", "old")),
    ]
    plan = sync.plan(diffs, prune=False)
    assert all(not t.prune for t in plan.tasks) and len(plan.skipped_prune) == 2
    only = sync.plan(diffs, prune=True, apply_out_of_sync_only=True)
    assert [(t.name, t.prune) for t in only.tasks] == [
        ("old", True),
        ("old", True),
        ("changed", False),
    ]
    assert only.multi_step  # in-sync objects still count for the steps (wave 0 and 1)


def test_prune_false_annotation_keeps_an_object() -> None:
    keep = _o("ConfigMap", "keep")
    keep["metadata"]["annotations"][sync.SYNC_OPTIONS_ANNOTATION] = "Prune=false, Delete=false"
    diffs = [diff.compare(None, keep), diff.compare(None, _o("ConfigMap", "gone"))]
    plan = sync.plan(diffs, prune=True)
    assert [t.name for t in plan.tasks if t.prune] == ["gone"]
    assert [o["metadata"]["name"] for o in plan.skipped_prune] == ["keep"]
    assert sync.sync_options(keep) == {"Prune=false", "Delete=false"}


def test_hooks_are_never_planned_as_resources() -> None:
    hook = _o("Pod", "migrate", hook="PreSync")
    plan = sync.plan([diff.compare(hook, None)], [hook], prune=True)
    assert [(t.phase, t.hook) for t in plan.tasks] == [("PreSync", True)]
