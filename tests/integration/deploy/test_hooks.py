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
