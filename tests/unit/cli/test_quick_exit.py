"""The everyday reads started as the ``shipway`` script leave at once (``os._exit``) with the
same output, exit code and stderr as any command; watches and other commands do not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shipway.cli.main import quick

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: "git://127.0.0.1/config.git", path: app}
  destination: {name: local, namespace: web}
"""
SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def test_which_commands_leave_quickly() -> None:
    assert quick(["get", "applications"]) and quick(["app", "list", "-o", "json"])
    assert quick(["--core", "release", "list"]) and quick(["ci", "list"])
    assert not quick(["get", "applications", "-w"]) and not quick(["get", "apps", "--watch"])
    assert not quick(["app", "sync", "web"]) and not quick(["apply", "-f", "x.yaml"])
    assert not quick(["application", "list"])  # only the exact words


def _run(args: list[str], home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPWAY_HOME": str(home), "SHIPWAY_CONFIG": str(home / "cli.yaml")}
    for name in ("SHIPWAY_SERVER", "SHIPWAY_DATABASE_URL", "SHIPWAY_CORE"):
        env.pop(name, None)
    return subprocess.run([SHIPWAY, *args], input=stdin, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_output_and_exit_codes_survive_the_quick_exit(tmp_path: Path) -> None:
    assert _run(["apply", "-f", "-"], tmp_path, APP).returncode == 0
    listed = _run(["app", "list", "-o", "json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [i["metadata"]["name"] for i in json.loads(listed.stdout)["items"]] == ["web"]
    table = _run(["get", "applications"], tmp_path)
    assert table.returncode == 0 and "web" in table.stdout
    bad = _run(["get", "nosuchkind"], tmp_path)
    assert bad.returncode == 2 and "unknown kind 'nosuchkind'" in bad.stderr and not bad.stdout
    missing = _run(["get", "application", "nope"], tmp_path)
    assert missing.returncode == 3, (missing.returncode, missing.stderr)


def test_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    assert _run(["apply", "-f", "-"], tmp_path, APP).returncode == 0
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path), "SHIPWAY_CONFIG": str(tmp_path / "c")}
    done = subprocess.run(f"'{SHIPWAY}' app list | head -c 1", shell=True, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.stdout == "N" and "Traceback" not in done.stderr
