"""A real podman sync emits its events: started, succeeded, health changed (once per change),
and a sync that cannot render emits SyncFailed as a Warning; ``get events`` shows them."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from deploy_helpers import application, commit, deployment, service, write

from shipway.cli.main import cli
from shipway.deploy import engine
from shipway.runtime.ports import free_port
from shipway.store import events as store_events
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def test_podman_sync_events(deploy_env, config_repo, httpd_images) -> None:
    url, work = config_repo
    port = free_port()
    write(work.path, "apps/ev/all.yaml", [deployment(httpd_images["v1"]), service(port)])
    commit(work, "web")
    app = application(url, "evapp", "apps/ev")
    app.body["metadata"]["namespace"] = "argocd"
    app = dataclasses.replace(app, namespace="argocd")
    store_resources.apply(deploy_env.store, [app])

    res = engine.reconcile(deploy_env.store, "evapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    assert engine.wait_healthy(deploy_env.store, "evapp", 60, settings=deploy_env.settings) == (
        "Healthy"
    )
    found = store_events.query(deploy_env.store, kind="Application", name="evapp")
    reasons = [e.reason for e in found]
    assert "OperationStarted" in reasons and "SyncSucceeded" in reasons
    assert reasons.index("OperationStarted") < reasons.index("SyncSucceeded")
    assert all(e.involved.namespace == "argocd" for e in found)
    assert all(e.involved.api_version == "argoproj.io/v1alpha1" for e in found)
    health = [e for e in found if e.reason == "HealthStatusChanged"]
    assert health and health[-1].message.endswith("-> Healthy")
    assert [e.seq for e in found] == sorted(e.seq for e in found)
    synced = [r for r in store_events.reconciles(deploy_env.store) if r[1] == "evapp"]
    assert [(ns, phase) for ns, _n, phase, _s in synced] == [("argocd", "Succeeded")]
    assert synced[0][3] is not None and synced[0][3] > 0

    # the same health again is no change: no new health event
    before = sum(e.count for e in health)
    engine.wait_healthy(deploy_env.store, "evapp", 60, settings=deploy_env.settings)
    again = store_events.query(deploy_env.store, kind="Application", name="evapp")
    assert sum(e.count for e in again if e.reason == "HealthStatusChanged") == before

    write(work.path, "apps/ev/kustomization.yaml", {"resources": ["missing.yaml"]})
    commit(work, "broken")
    res = engine.reconcile(deploy_env.store, "evapp", settings=deploy_env.settings)
    assert res.phase != "Succeeded"
    failed = store_events.query(deploy_env.store, kind="Application", name="evapp",
                                types=["Warning"])  # fmt: skip
    assert failed, "a failed sync is a Warning event"
    assert any(e.reason.startswith("Sync") or "Fail" in e.reason for e in failed)

    out = CliRunner().invoke(cli, ["get", "events", "--for", "app/evapp", "-n", "argocd"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("SyncSucceeded" in line and "application/evapp" in line for line in lines)
    assert any(line.split()[1] == "Warning" for line in lines[1:] if line.split()[1:2])
    other = CliRunner().invoke(cli, ["get", "events", "-n", "elsewhere"])
    assert "evapp" not in other.output
