"""``shipway app resources`` (table, wide, tree with the pods) and ``app logs`` on podman."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deploy_helpers import application, commit, deployment, service, write

from shipway.runtime.ports import free_port

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
_CMD = 'echo "hello from $MSG"; echo second line; exec httpd -f -p 8080 -h /www'


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPWAY_COLOR": "never"}
    env.pop("COLUMNS", None)
    return subprocess.run([SHIPWAY, *args], capture_output=True, text=True, env=env, check=False)


def test_resources_tree_and_logs(deploy_env, config_repo, httpd_images, tmp_path: Path) -> None:
    url, work = config_repo
    web = deployment(httpd_images["v1"])
    web["spec"]["template"]["spec"]["containers"][0]["command"] = ["/bin/sh", "-c", _CMD]
    write(work.path, "apps/web/web.yaml", [web, service(free_port())])
    commit(work, "v1")
    app_file = tmp_path / "app.yaml"
    app_file.write_text(yaml.safe_dump(application(url, "web", "apps/web").body))
    assert _cli("apply", "-f", str(app_file)).returncode == 0
    s = _cli("app", "sync", "web", "--wait", "--timeout", "60")
    assert s.returncode == 0, s.stderr

    table = _cli("app", "resources", "web")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "GROUP   KIND         NAMESPACE   NAME   ORPHANED"
    assert sorted(lines[1:]) == [
        "        Service      default     web    No",
        "apps    Deployment   default     web    No",
    ]
    wide = _cli("app", "resources", "web", "-o", "wide", "--sort-by", ".kind")
    assert [ln.split()[-2:] for ln in wide.stdout.splitlines()] == [
        ["STATUS", "HEALTH"], ["Synced", "Healthy"], ["Synced", "Healthy"]]  # fmt: skip
    names = _cli("app", "resources", "web", "-o", "name").stdout.split()
    assert sorted(names) == ["deployment/web", "service/web"]
    data = json.loads(_cli("app", "resources", "web", "-o", "json").stdout)
    assert data["kind"] == "List" and len(data["items"]) == 2

    tree = _cli("app", "resources", "web", "-o", "tree")
    assert tree.returncode == 0, tree.stderr
    lines = tree.stdout.splitlines()
    at = next(i for i, ln in enumerate(lines) if " Deployment " in ln)
    pod = lines[at + 1].split()
    assert pod[0] == "└─Pod" and pod[1] == "default" and pod[-1] == "Running", tree.stdout

    logs = _cli("app", "logs", "web")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.splitlines()[:2] == ["hello from plain", "second line"]
    assert _cli("app", "logs", "web", "-c", "httpd").stdout.startswith("hello from plain\n")
    bad = _cli("app", "logs", "web", "-c", "nosuch")
    assert bad.returncode == 3
    assert "container nosuch is not valid" in bad.stderr and "httpd" in bad.stderr
    missing = _cli("app", "resources", "nope")
    assert missing.returncode == 3 and "application 'nope' not found" in missing.stderr
