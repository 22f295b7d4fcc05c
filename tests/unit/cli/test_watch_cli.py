"""``shipway get applications -w`` run as a process: changes print again, Ctrl-C exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, labels: {{rev: "{rev}"}}}}
spec:
  source: {{repoURL: "git://127.0.0.1/config.git", path: {name}}}
  destination: {{name: local, namespace: {name}}}
"""


def _apply(tmp_path: Path, name: str, rev: str) -> None:
    f = tmp_path / f"{name}.yaml"
    f.write_text(APP.format(name=name, rev=rev))
    subprocess.run([SHIPWAY, "apply", "-f", str(f)], check=True, capture_output=True)


def _line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stdout is not None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if line:
            return line.rstrip("\n")
    raise AssertionError("no line from the watch")


def test_watch_prints_changes_and_ctrl_c_exits_0(shipway_home: Path, tmp_path: Path) -> None:
    _apply(tmp_path, "web", "1")
    env = {**os.environ, "SHIPWAY_COLOR": "never"}
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([SHIPWAY, "get", "applications", "-w", "-o", "name"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert _line(proc) == "application/web"
        _apply(tmp_path, "api", "1")  # a new object
        assert _line(proc) == "application/api"
        _apply(tmp_path, "web", "2")  # a changed one
        assert _line(proc) == "application/web"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
