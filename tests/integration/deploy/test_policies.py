"""Sync policy pieces on an in-process target: retry with backoff, health plugins,
multi-source applications."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import application, commit, write

from shipway import cluster
from shipway.cluster import Result
from shipway.cluster.memory import MemoryTarget
from shipway.deploy import engine, health
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


class Flaky(MemoryTarget):
    """Fails the first ``failures`` applies, as a cluster with a transient error would."""

    def __init__(self, failures: int) -> None:
        super().__init__("flaky")
        self.failures = failures

    def apply(
        self, app: str, objects: list[dict[str, Any]], *, options: frozenset[str] = frozenset()
    ) -> list[Result]:
        if self.failures > 0:
            self.failures -= 1
            return [
                Result(
                    f"/{o['kind']}/default/{o['metadata']['name']}",
                    "SyncFailed",
                    "failed",
                    "etcdserver: request timed out",
                )
                for o in objects
            ]
        return super().apply(app, objects, options=options)


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    target = Flaky(2)
    cluster.register("flaky", target)
    yield target
    cluster.register("flaky", None)


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def _app(url: str, name: str, path: str, **spec: Any):
    app = application(url, name, path)
    app.body["spec"]["destination"] = {"name": "flaky", "namespace": "default"}
    app.body["spec"].update(spec)
    return app


def test_retry_with_backoff(deploy_env, config_repo, flaky) -> None:
    url, work = config_repo
    write(work.path, "apps/r/cm.yaml", _cm("c", a="1"))
    commit(work, "cm")
    retry = {"limit": 3, "backoff": {"duration": "10ms", "factor": 2, "maxDuration": "1s"}}
    store_resources.apply(deploy_env.store, [_app(url, "r", "apps/r", syncPolicy={"retry": retry})])
    events: list[str] = []
    res = engine.reconcile(
        deploy_env.store,
        "r",
        settings=deploy_env.settings,
        on_event=lambda e: events.append(e["reason"]),
    )
    assert res.phase == "Succeeded" and res.retries == 2
    assert events.count("SyncRetry") == 2

    flaky.failures = 5
    write(work.path, "apps/r/cm.yaml", _cm("c", a="2"))
    commit(work, "cm2")
    store_resources.apply(
        deploy_env.store, [_app(url, "r", "apps/r", syncPolicy={"retry": {**retry, "limit": 1}})]
    )
    res = engine.reconcile(deploy_env.store, "r", settings=deploy_env.settings)
    assert res.phase == "Failed" and res.retries == 1
    assert "etcdserver: request timed out" in res.message


def test_health_plugin_and_multi_source(
    deploy_env, config_repo, flaky, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky.failures = 0
    url, work = config_repo
    write(work.path, "one/cm.yaml", _cm("first", state="ok"))
    write(work.path, "two/cm.yaml", _cm("second", state="broken"))
    commit(work, "two dirs")
    sources = [
        {"repoURL": url, "path": "one", "targetRevision": "main"},
        {"repoURL": url, "path": "two", "targetRevision": "main"},
    ]
    app = _app(url, "multi", "one")
    del app.body["spec"]["source"]
    app.body["spec"]["sources"] = sources
    store_resources.apply(deploy_env.store, [app])
    (tmp_path / "shipway_test_health.py").write_text(
        "from shipway.deploy import health\n"
        "def check(obj):\n"
        "    if (obj.get('data') or {}).get('state') == 'broken':\n"
        "        return 'Degraded', 'state is broken'\n"
        "    return 'Healthy', ''\n"
        "health.register('', 'ConfigMap', check)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SHIPWAY_HEALTH_PLUGINS", "shipway_test_health")
    try:
        res = engine.reconcile(deploy_env.store, "multi", settings=deploy_env.settings)
        assert res.phase == "Succeeded"
        assert sorted(r.key for r in res.resources) == [
            "/ConfigMap/default/first",
            "/ConfigMap/default/second",
        ]
        assert res.health == "Degraded"
        status = store_resources.get(deploy_env.store, "Application", "multi").status
        assert status["health"].pop("lastTransitionTime").endswith("Z")
        assert status["health"] == {"status": "Degraded", "message": "state is broken"}
        assert "," in status["sync"]["revision"]  # one commit per source
    finally:
        health.unregister("", "ConfigMap")


def test_per_object_sync_options(deploy_env, config_repo, flaky) -> None:
    from shipway.deploy import history

    flaky.failures = 0
    url, work = config_repo
    kept = _cm("kept")
    kept["metadata"]["annotations"] = {
        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false"
    }
    write(work.path, "apps/o/cms.yaml", [kept, _cm("plain")])
    commit(work, "two")
    store_resources.apply(deploy_env.store, [_app(url, "o", "apps/o")])
    assert engine.reconcile(deploy_env.store, "o", settings=deploy_env.settings).ok
    write(work.path, "apps/o/cms.yaml", [_cm("other")])
    commit(work, "replace both")
    res = engine.reconcile(deploy_env.store, "o", prune=True, settings=deploy_env.settings)
    by_key = {r.key: (r.status, r.message) for r in res.resources}
    assert by_key["/ConfigMap/default/kept"] == ("PruneSkipped", "ignored (no prune)")
    assert by_key["/ConfigMap/default/plain"][0] == "Pruned"
    history.delete_app(deploy_env.store, "o", settings=deploy_env.settings)
    assert sorted(flaky.live("o")) == ["/ConfigMap/default/kept"]  # Delete=false
