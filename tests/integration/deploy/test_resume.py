"""A sync killed between waves stays Running in the store and is resumed on restart."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.runtime.ports import free_port
from shipway.store import resources as store_resources
from shipway.store import runs

pytestmark = pytest.mark.integration


class Killed(BaseException):
    """Stands for the controller process dying."""


def test_killed_sync_resumes_from_its_wave(deploy_env, config_repo, httpd_images) -> None:
    url, work = config_repo
    port = free_port()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first"}, "data": {}}
    write(work.path, "apps/r/all.yaml", [cm, service(port), deployment(httpd_images["v1"], wave=1)])
    sha = commit(work, "waves")
    store_resources.apply(deploy_env.store, [application(url, "resumable", "apps/r")])

    def die_at_wave_1(event: dict[str, Any]) -> None:
        if event["reason"] == "SyncWave" and event["message"].startswith("wave 1"):
            raise Killed

    with pytest.raises(Killed):
        engine.reconcile(
            deploy_env.store, "resumable", on_event=die_at_wave_1, settings=deploy_env.settings
        )
    phase, state = runs.get_state(deploy_env.store, engine.ENGINE, "resumable") or ("", {})
    assert phase == "Running" and state["wave"] == 1 and state["revision"] == sha
    assert {r["key"] for r in state["results"]} == {
        "/ConfigMap/default/first",
        "/Service/default/web",
    }
    assert "apps/Deployment/default/web" not in deploy_env.target.live("resumable")

    [res] = engine.resume_interrupted(deploy_env.store, settings=deploy_env.settings)
    assert res.phase == "Succeeded" and res.revision == sha
    assert [r.key for r in res.resources] == [
        "/ConfigMap/default/first",
        "/Service/default/web",
        "apps/Deployment/default/web",
    ]
    assert runs.get_state(deploy_env.store, engine.ENGINE, "resumable")[0] == "Succeeded"
    assert engine.resume_interrupted(deploy_env.store, settings=deploy_env.settings) == []
    assert http_get(port, "/index.html") == "v1"
