"""PreDelete and PostDelete hooks run on ``app delete`` as real pods on podman."""

from __future__ import annotations

import json
from typing import Any

import pytest
from deploy_helpers import application, commit, deployment, write
from test_hooks import _hook

from shipway.deploy import engine, history
from shipway.model.errors import ClusterError, NotFoundError
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _pods(env) -> set[str]:
    out = env.target.podman("pod", "ps", "--format", "json")
    return {p["Name"] for p in json.loads(out or "[]")}


def _helm_hook(name: str, image: str, hook: str) -> dict[str, Any]:
    obj = _hook(name, image, "x", 0)
    obj["metadata"]["annotations"] = {"helm.sh/hook": hook}
    return obj


def test_delete_hooks_run_around_the_deletion_and_a_failed_one_blocks_it(
    deploy_env, config_repo, httpd_images
) -> None:
    url, work = config_repo
    image = httpd_images["v1"]
    app_objs = [deployment(image), _hook("backup", image, "PreDelete", 3)]
    post = _hook("goodbye", image, "PostDelete", 0)
    write(work.path, "apps/d/all.yaml", [*app_objs, post])
    commit(work, "delete hooks")
    store_resources.apply(deploy_env.store, [application(url, "del", "apps/d")])
    res = engine.reconcile(deploy_env.store, "del", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert _pods(deploy_env) == {"default.web-0"}  # delete hooks do not run on sync
    assert all(not r.hook_type for r in res.resources)

    # a failing PreDelete hook blocks the deletion: the app and its resources stay
    with pytest.raises(ClusterError) as err:
        history.delete_app(deploy_env.store, "del", settings=deploy_env.settings)
    assert "PreDelete hook /Pod/default/backup failed" in err.value.message
    assert "exited with code 3" in err.value.message
    assert "kept" in err.value.message
    assert store_resources.get(deploy_env.store, "Application", "del").name == "del"
    assert "apps/Deployment/default/web" in deploy_env.target.live("del")
    assert "default.goodbye" not in _pods(deploy_env)  # PostDelete did not run

    # fixed in git: PreDelete runs, then the resources go, then PostDelete, then the hooks
    write(work.path, "apps/d/all.yaml", [deployment(image), _hook("backup", image, "PreDelete", 0),
                                         _helm_hook("bye", image, "post-delete")])  # fmt: skip
    commit(work, "fixed backup")
    out = history.delete_app(deploy_env.store, "del", settings=deploy_env.settings)
    order = [(r.key, r.hook_type or r.status, r.hook_phase) for r in out]
    assert (
        order.index(("/Pod/default/backup", "PreDelete", "Succeeded"))
        < order.index(("apps/Deployment/default/web", "Pruned", ""))
        < order.index(("/Pod/default/bye", "PostDelete", "Succeeded"))
    )
    with pytest.raises(NotFoundError):
        store_resources.get(deploy_env.store, "Application", "del")
    assert deploy_env.target.live("del") == {}
    assert _pods(deploy_env) == set()  # the succeeded hooks are removed too
