"""A real ``shipway controller`` process on a free loopback port, for tests and benchmarks.

Started with its own ``SHIPWAY_HOME`` and a ``PATH`` without the docker CLI
(so CI steps get no podman service), stopped with SIGTERM or killed with
SIGKILL by its own pid. The store is opened beside it, on the same database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from shipway.controller.tokens import HookTokens
from shipway.git.repo import Repo
from shipway.runtime import ports
from shipway.settings import Settings
from shipway.store import inbox, releases, runs
from shipway.store.db import Store, open_store

PATH = f"{Path(sys.executable).parent}:/usr/bin:/bin"


class ControllerProc:
    def __init__(self, home: Path, *, resync: float = 600.0, **env: str) -> None:
        self.home = home
        self.resync = resync
        self.env = env
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.settings = Settings(home=home, database_url="")
        self.store: Store = open_store(self.settings)
        self.tokens = HookTokens(self.settings, self.store)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **env: str) -> ControllerProc:
        self.port = ports.free_port()
        log = open(self.home / f"controller-{self.port}.log", "ab")  # noqa: SIM115
        argv = [
            sys.executable,
            "-m",
            "shipway.cli.main",
            "controller",
            "--port",
            str(self.port),
            "--resync",
            str(self.resync),
        ]
        full = {
            **os.environ,
            "SHIPWAY_HOME": str(self.home),
            "PATH": PATH,
            "PYTHONUNBUFFERED": "1",
            "SHIPWAY_NET_TIMEOUT": "10",
            **self.env,
            **env,
        }
        full.pop("SHIPWAY_DATABASE_URL", None)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=full)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"controller exited: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"controller did not answer: {self.log()}")

    def log(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.home.glob("controller-*.log"))
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def git_hook(
        self,
        repo: str,
        updates: list[dict[str, str]],
        token: str | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        token = self.tokens.git(repo) if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"repo": repo, "updates": updates}
        return (client or httpx).post(
            f"{self.url}/hooks/git", json=body, headers=headers, timeout=30
        )

    def runs_of(self, commit: str) -> list[dict[str, Any]]:
        return [r for r in runs.list_runs(self.store, limit=1000) if r.get("commit") == commit]

    def wait_runs(self, commit: str, count: int, timeout: float = 90.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [r for r in self.runs_of(commit) if r.get("conclusion")]
            if len(done) >= count:
                return done
            time.sleep(0.2)
        raise AssertionError(
            f"{count} finished runs of {commit} expected, have "
            f"{self.runs_of(commit)}\n{self.log()[-4000:]}"
        )

    def wait_idle(self, timeout: float = 90.0) -> None:
        """Until the inbox has nothing pending or leased (the controller took everything)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = inbox.counts(self.store)
            if not c.get(inbox.PENDING) and not c.get(inbox.LEASED):
                return
            time.sleep(0.2)
        raise AssertionError(f"inbox not drained: {inbox.counts(self.store)}\n{self.log()[-4000:]}")

    def releases_of(self, commit: str) -> list[Any]:
        return releases.for_commit(self.store, commit)

    def events(self, reason: str) -> list[dict[str, Any]]:
        return [e for e in runs.events(self.store, limit=5000) if e["reason"] == reason]


WORKFLOW = """\
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "built $GITHUB_SHA"
"""


def pipeline(name: str, url: str, apps: str = "[web]") -> str:
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: {name}}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  applications: {apps}
"""


class AppRepo:
    def __init__(self, url: str, work: Repo) -> None:
        self.url = url
        self.work = work

    def commit(self, text: str, push: bool = True) -> str:
        (self.work.path / "app.txt").write_text(text)
        self.work.run("add", "-A")
        self.work.run("commit", "-q", "-m", text)
        if push:
            self.work.run("push", "-q", "origin", "HEAD:main")
        return self.work.run("rev-parse", "HEAD").strip()

    def update(self, after: str, before: str = "0" * 40) -> dict[str, str]:
        return {"ref": "refs/heads/main", "before": before, "after": after}
