"""PreSync, PostSync and SyncFail hooks run as real pods on podman, with delete policies."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.runtime.ports import free_port
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _hook(
    name: str, image: str, phase: str, code: int, policy: str | None = None
) -> dict[str, Any]:
    ann = {"argocd.argoproj.io/hook": phase}
    if policy:
        ann["argocd.argoproj.io/hook-delete-policy"] = policy
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": ann},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {"name": "run", "image": image, "command": ["/bin/sh", "-c", f"exit {code}"]}
            ],
        },
    }


def test_hooks_run_in_their_phases(deploy_env, config_repo, httpd_images) -> None:
    url, work = config_repo
    image = httpd_images["v1"]
    port = free_port()
    write(
        work.path,
        "apps/h/all.yaml",
        [
            deployment(image),
            service(port),
            _hook("migrate", image, "PreSync", 0, "HookSucceeded"),
            _hook("smoke", image, "PostSync", 1),
            _hook("page", image, "SyncFail", 0),
        ],
    )
    commit(work, "hooks")
    store_resources.apply(deploy_env.store, [application(url, "hooked", "apps/h")])

    res = engine.reconcile(deploy_env.store, "hooked", settings=deploy_env.settings)

    assert res.phase == "Failed"
    hooks = [(r.key, r.sync_phase, r.hook_phase) for r in res.resources if r.hook_type]
    assert hooks == [
        ("/Pod/default/migrate", "PreSync", "Succeeded"),
        ("/Pod/default/smoke", "PostSync", "Failed"),
        ("/Pod/default/page", "SyncFail", "Succeeded"),
    ]
    assert http_get(port, "/index.html") == "v1"  # the sync itself ran between the hooks
    live = deploy_env.target.live("hooked")
    assert "/Pod/default/migrate" not in live  # HookSucceeded deleted it
    assert "/Pod/default/smoke" in live  # no HookFailed policy: kept for inspection
    status = store_resources.get(deploy_env.store, "Application", "hooked").status
    assert {r["kind"] for r in status["resources"]} == {"Deployment", "Service"}
    assert status["sync"]["status"] == "Synced"  # hooks are not part of the sync status


def _logging(spec: dict[str, Any], log_dir: str, line: str, then: str = "") -> dict[str, Any]:
    """``spec`` (a pod spec) whose container appends ``line`` to ``log_dir/order.txt``."""
    spec["volumes"] = [{"name": "log", "hostPath": {"path": log_dir, "type": "Directory"}}]
    [c] = spec["containers"]
    c.pop("ports", None)  # podman 4 publishes a containerPort on the host: two would clash
    c["command"] = ["/bin/sh", "-c", f"echo {line} >> /log/order.txt{then}"]
    c["volumeMounts"] = [{"name": "log", "mountPath": "/log"}]
    return spec


def test_hooks_run_once_per_sync_in_wave_order(
    deploy_env, config_repo, httpd_images, tmp_path
) -> None:
    url, work = config_repo
    image = httpd_images["v1"]
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    log_dir.chmod(0o777)
    serve = "; exec sleep 600"
    first, second = deployment(image, name="first"), deployment(image, name="second", wave=2)
    for d in (first, second):
        _logging(d["spec"]["template"]["spec"], str(log_dir), d["metadata"]["name"], serve)
    pre = _hook("pre", image, "PreSync", 0, "HookSucceeded")
    mid = _hook("mid", image, "Sync", 0)
    del mid["metadata"]["name"]
    mid["metadata"]["generateName"] = "mid-"
    mid["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "1"
    post = _hook("post", image, "PostSync", 0)
    for name, hook in (("pre", pre), ("mid", mid), ("post", post)):
        _logging(hook["spec"], str(log_dir), name)
    late = {  # created in wave 2: podman replays the workloads that read config, not hooks
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "late", "annotations": {"argocd.argoproj.io/sync-wave": "2"}},
        "data": {"k": "v"},
    }
    write(work.path, "apps/o/all.yaml", [post, second, late, mid, first, pre])
    commit(work, "ordered hooks")
    store_resources.apply(deploy_env.store, [application(url, "ordered", "apps/o")])
    log = log_dir / "order.txt"

    res = engine.reconcile(deploy_env.store, "ordered", settings=deploy_env.settings)

    assert res.phase == "Succeeded", res.message
    lines = log.read_text().split()
    assert [ln for ln in lines if ln in ("pre", "mid", "post")] == ["pre", "mid", "post"]
    starts = list(dict.fromkeys(lines))  # first start of each
    assert starts == ["pre", "first", "mid", "second", "post"]  # waves, hooks between them
    live = deploy_env.target.live("ordered")
    assert "/Pod/default/pre" not in live  # HookSucceeded
    [mid_key] = [k for k in live if k.startswith("/Pod/default/mid-")]
    assert live[mid_key]["status"]["phase"] == "Succeeded"

    again = engine.reconcile(deploy_env.store, "ordered", settings=deploy_env.settings)

    assert again.phase == "Succeeded", again.message
    lines = log.read_text().split()
    assert {h: lines.count(h) for h in ("pre", "mid", "post")} == {"pre": 2, "mid": 2, "post": 2}
