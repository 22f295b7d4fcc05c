"""``shipway app logs NAME -f`` on podman: the lines so far, then each line a container writes
later, from one container (``-c``) or every one (prefixed), until Ctrl-C (exit 0, no
``podman logs`` left behind) or the container's end."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from deploy_helpers import application, commit, deployment, write

from shipway.cluster import app_pods

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))
_HTTPD = 'echo "hello from $MSG"; exec httpd -f -p 8080 -h /www'
_SIDE = "echo side up; exec sleep 3600"


def _env() -> dict[str, str]:
    env = {**os.environ, "SHIPWAY_COLOR": "never"}
    env.pop("COLUMNS", None)
    return env


class Follow:
    """``shipway app logs ... -f`` running, its stdout read line by line on a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([SHIPWAY, "app", "logs", *args, "-f"], env=_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def take(self, n: int) -> list[str]:
        try:
            return [self.lines.get(timeout=60) for _ in range(n)]
        except queue.Empty:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"no line from app logs -f; stderr: {err}") from None

    def end(self, sig: int | None = signal.SIGINT) -> tuple[int, str]:
        if sig is not None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, err


def _say(podman_env: dict[str, str], container: str, text: str) -> None:
    """Write a line to ``container``'s own stdout (its PID 1's), as if the app printed it."""
    subprocess.run(["podman", "exec", container, "/bin/sh", "-c", f"echo {text} > /proc/1/fd/1"],
                   env=podman_env, check=True, capture_output=True, timeout=60)  # fmt: skip


def _followers(container: str) -> list[str]:
    """``podman logs --follow CONTAINER`` processes still running."""
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True, check=True)
    return [a for a in ps.stdout.splitlines()
            if a.startswith("podman logs --follow") and a.endswith(container)]  # fmt: skip


def test_follow_one_container_then_all(
    deploy_env, config_repo, httpd_images, tmp_path: Path
) -> None:
    url, work = config_repo
    web = deployment(httpd_images["v1"])
    spec = web["spec"]["template"]["spec"]
    spec["containers"][0]["command"] = ["/bin/sh", "-c", _HTTPD]
    spec["containers"].append({"name": "side", "image": httpd_images["v1"],
                               "command": ["/bin/sh", "-c", _SIDE]})  # fmt: skip
    write(work.path, "apps/web/web.yaml", [web])
    commit(work, "v1")
    app_file = tmp_path / "app.yaml"
    app_file.write_text(yaml.safe_dump(application(url, "web", "apps/web").body))
    cli = [SHIPWAY, "apply", "-f", str(app_file)]
    assert subprocess.run(cli, env=_env(), capture_output=True, check=False).returncode == 0
    sync = subprocess.run([SHIPWAY, "app", "sync", "web", "--wait", "--timeout", "90"],
                          env=_env(), capture_output=True, text=True, check=False)  # fmt: skip
    assert sync.returncode == 0, sync.stderr
    [pods] = app_pods.pods(deploy_env.target, "web").values()
    [pod] = [p["name"] for p in pods]
    podman_env = deploy_env.target.env

    one = Follow("web", "-c", "httpd")
    assert one.take(1) == ["hello from plain"]
    _say(podman_env, f"{pod}-httpd", "late-line")
    assert one.take(1) == ["late-line"]
    code, err = one.end()
    assert code == 0, err
    assert _followers(f"{pod}-httpd") == []

    every = Follow("web")
    assert sorted(every.take(3)) == [f"[pod/{pod}/httpd] hello from plain",
                                     f"[pod/{pod}/httpd] late-line",
                                     f"[pod/{pod}/side] side up"]  # fmt: skip
    _say(podman_env, f"{pod}-side", "side-later")
    assert every.take(1) == [f"[pod/{pod}/side] side-later"]
    code, err = every.end()
    assert code == 0, err
    assert _followers(f"{pod}-httpd") == [] and _followers(f"{pod}-side") == []

    # a follow ends by itself, exit 0, when the container it follows stops
    side = Follow("web", "-c", "side")
    assert side.take(2) == ["side up", "side-later"]
    subprocess.run(["podman", "stop", "-t", "1", f"{pod}-side"], env=podman_env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    code, err = side.end(sig=None)
    assert code == 0, err
