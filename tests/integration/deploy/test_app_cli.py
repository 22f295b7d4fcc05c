"""``shipway app …`` end to end: diff, sync --wait, get -o json, history, rollback (pinned
under automation), self-heal of a deleted pod, delete; on real podman and git daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deploy_helpers import application, commit, deployment, http_get, service, write

from shipway.deploy import engine
from shipway.runtime.ports import free_port

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPWAY, *args], capture_output=True, text=True, env=dict(os.environ), check=False
    )


def test_app_commands(deploy_env, config_repo, httpd_images, tmp_path: Path) -> None:
    url, work = config_repo
    port = free_port()
    write(work.path, "apps/web/web.yaml", [deployment(httpd_images["v1"]), service(port)])
    first = commit(work, "v1")
    app_file = tmp_path / "app.yaml"
    app = application(url, "web", "apps/web", automated={"prune": True, "selfHeal": True})
    app_file.write_text(yaml.safe_dump(app.body))
    assert _cli("apply", "-f", str(app_file)).returncode == 0

    d = _cli("app", "diff", "web")
    assert d.returncode == 1, d.stderr
    assert "===== apps/Deployment default/web ======" in d.stdout
    added = [ln for ln in d.stdout.splitlines() if ln.startswith("+")]
    assert any(ln.endswith(f"image: {httpd_images['v1']}") for ln in added)

    s = _cli("app", "sync", "web", "--wait", "--timeout", "60", "-o", "json")
    assert s.returncode == 0, s.stderr
    result = json.loads(s.stdout)
    assert result["phase"] == "Succeeded" and result["health"] == "Healthy"
    assert "apps/Deployment/default/web: created" in s.stderr
    assert http_get(port, "/index.html") == "v1"
    assert _cli("app", "diff", "web").returncode == 0

    got = json.loads(_cli("app", "get", "web", "-o", "json").stdout)
    st = got["status"]
    assert st["sync"]["status"] == "Synced" and st["sync"]["revision"] == first
    assert st["health"]["status"] == "Healthy", (
        deploy_env.target.live("web"),
        deploy_env.target.podman("ps", "-a"),
    )
    kinds = {(r["kind"], r["status"], r.get("health", {}).get("status")) for r in st["resources"]}
    assert kinds == {("Deployment", "Synced", "Healthy"), ("Service", "Synced", "Healthy")}
    assert [h["revision"] for h in st["history"]] == [first]
    assert st["operationState"]["phase"] == "Succeeded"
    assert st["operationState"]["syncResult"]["revision"] == first
    assert st["summary"]["images"] == [httpd_images["v1"]]

    write(work.path, "apps/web/web.yaml", [deployment(httpd_images["v2"]), service(port)])
    second = commit(work, "v2")
    [auto] = engine.self_heal_pass(deploy_env.store, settings=deploy_env.settings)
    assert auto.phase == "Succeeded" and auto.revision == second
    assert http_get(port, "/index.html") == "v2"

    rb = _cli("app", "rollback", "web", "--wait", "--timeout", "60")
    assert rb.returncode == 0, rb.stderr
    assert "pinned to " + first[:12] in rb.stderr
    assert http_get(port, "/index.html") == "v1"
    assert engine.self_heal_pass(deploy_env.store, settings=deploy_env.settings) == []
    got = json.loads(_cli("app", "get", "web", "-o", "json").stdout)
    assert got["status"]["pin"]["revision"] == first
    assert got["status"]["sync"] == {**got["status"]["sync"], "status": "Synced", "revision": first}
    hist = json.loads(_cli("app", "history", "web", "-o", "json").stdout)["items"]
    assert [h["revision"] for h in hist] == [first, second, first]

    s = _cli("app", "sync", "web", "--wait", "--timeout", "60")
    assert s.returncode == 0, s.stderr
    assert http_get(port, "/index.html") == "v2"

    deploy_env.target.podman("pod", "rm", "-f", "default.web-0")  # <namespace>.<name>-<i>
    healed = engine.self_heal_pass(deploy_env.store, settings=deploy_env.settings)
    assert [(r.phase, r.revision) for r in healed] == [("Succeeded", second)]
    assert http_get(port, "/index.html") == "v2"

    shown = _cli("app", "get", "web")
    assert shown.returncode == 0, shown.stderr
    assert "Sync Status:   Synced" in shown.stdout and "Deployment" in shown.stdout
    waited = _cli("app", "wait", "web", "--timeout", "30")
    assert waited.returncode == 0 and "application/web Healthy" in waited.stdout
    table = _cli("app", "history", "web")
    assert table.returncode == 0 and first[:12] in table.stdout
    listed = _cli("app", "list")
    assert listed.returncode == 0 and "web" in listed.stdout and "Synced" in listed.stdout
    assert _cli("app", "delete", "web").returncode == 0
    assert deploy_env.target.live("web") == {}
    assert _cli("app", "get", "web").returncode == 3
