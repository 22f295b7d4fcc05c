"""Helpers for tests that run ``shipway ci`` as real processes sharing one store."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipway.git.repo import Repo
from shipway.settings import Settings
from shipway.store.db import Store, open_store

SHIPWAY = str(Path(sys.executable).parent / "shipway")
TIMEOUT = 120.0


def load_postgres_fixture() -> Any:
    """The store tests' real PostgreSQL fixture (one server per session)."""
    path = Path(__file__).parents[1] / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_store_pg_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.postgres_url


def make_checkout(path: Path, workflow: str, files: dict[str, str] | None = None) -> Path:
    repo = Repo.init(path)
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "ci.yml").write_text(textwrap.dedent(workflow))
    for name, text in (files or {}).items():
        (path / name).write_text(textwrap.dedent(text))
    repo.add_all()
    repo.commit("init")
    return path


@dataclass
class Shared:
    """One SHIPWAY_HOME and database that several processes use."""

    home: Path
    database_url: str = ""
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SHIPWAY_HOME": str(self.home),
                "SHIPWAY_DATABASE_URL": self.database_url}  # fmt: skip

    def store(self) -> Store:
        return open_store(Settings(home=self.home, database_url=self.database_url))

    def start(self, cwd: Path, *args: str, log: Path) -> subprocess.Popen[str]:
        """``shipway ci ARGS -o json`` in the background; stderr (the live log) goes to ``log``."""
        with log.open("w") as err:
            proc = subprocess.Popen(
                [SHIPWAY, "ci", *args, "-o", "json"], cwd=cwd, env=self.env, text=True,
                stdout=subprocess.PIPE, stderr=err, start_new_session=True,
            )  # fmt: skip
        self.procs.append(proc)
        return proc

    def run(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SHIPWAY, "ci", *args], cwd=cwd, env=self.env, text=True,
                              capture_output=True, timeout=TIMEOUT)  # fmt: skip

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # a run killed with SIGKILL (a crash, on purpose) leaves its step processes, which
        # run in sessions of their own, behind: their scripts live under this home
        subprocess.run(["pkill", "-KILL", "-f", str(self.home)], check=False)


def record(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=TIMEOUT)
    data: dict[str, Any] = json.loads(out)
    return data


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def log_has(path: Path, text: str) -> Callable[[], bool]:
    return lambda: path.is_file() and text in path.read_text()
