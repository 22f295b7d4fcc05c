"""A runner killed mid-promotion: resumed at the step it was on, or failed cleanly.

The promotion runs in a subprocess that is killed (SIGKILL) while its http
step waits on a real loopback server; the test then resumes it in-process.
Also: error retries of the http step (``retry.errorThreshold``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from promote_helpers import freight, remote_refs
from promote_helpers import seed_config_repo as seed

from shipway.promote import runner
from shipway.settings import Settings
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration

_SCRIPT = """
import sys
from shipway.settings import Settings
from shipway.store.db import open_store
from shipway.promote import runner
s = Settings()
runner.run(open_store(s), s, sys.argv[1], poll=0.05)
"""


class Gate:
    """A loopback HTTP server answering {"ready": <flag>}; ``drops`` requests are cut off."""

    def __init__(self) -> None:
        self.ready = False
        self.drops = 0
        self.hits = 0
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                gate.hits += 1
                if gate.drops > 0:
                    gate.drops -= 1
                    self.connection.shutdown(2)  # no answer at all: a transport error
                    return
                body = json.dumps({"ready": gate.ready}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ready"


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    yield g
    g.server.shutdown()


@pytest.fixture
def env(shipway_home: Path) -> Iterator[tuple[Settings, Store]]:
    settings = Settings()
    store = open_store(settings)
    yield settings, store
    store.close()


def _steps(url: str, gate_url: str) -> list[dict[str, Any]]:
    return [
        {"uses": "git-clone", "config": {"repoURL": url,
                                         "checkout": [{"branch": "main", "path": "./src"}]}},
        {"uses": "json-update", "config": {"path": "./src/app.json",
                                           "updates": [{"key": "image.tag", "value": "1.2.3"}]}},
        {"uses": "git-commit", "as": "commit", "config": {"path": "./src", "message": "bump"}},
        {"uses": "http", "as": "gate", "retry": {"timeout": "2m"}, "config": {
            "url": gate_url, "successExpression": "response.body.ready == true",
            "outputs": [{"name": "ready", "fromExpression": "response.body.ready"}]}},
        {"uses": "git-push", "as": "push", "config": {"path": "./src"}},
    ]  # fmt: skip


def _seed(git_server: Any, tmp_path: Path, name: str) -> str:
    url = git_server.bare(name)
    seed(url, tmp_path / "seed")
    from shipway.git.repo import Repo

    work = Repo(tmp_path / "seed")
    (work.path / "app.json").write_text('{\n    "image": {"tag": "0.0.1"}\n}\n')
    work.add_all()
    work.commit("json")
    work.push("origin", "HEAD:refs/heads/main")
    return url


def _wait_for(store: Store, key: str, step: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = runner.phase_of(store, key)
        if found and found[0] == "Running" and found[1]["current"] == step:
            metas = found[1]["metas"]
            if len(metas) > step and metas[step]["status"] == "Running":
                return
        time.sleep(0.05)
    raise AssertionError(f"promotion never reached step {step}: {runner.phase_of(store, key)}")


def test_killed_runner_resumes_at_its_step(env, git_server, gate, tmp_path: Path) -> None:
    settings, store = env
    url = _seed(git_server, tmp_path, "cfg-resume")
    before = remote_refs(url)
    key = runner.create(store, project="demo", name="r1", stage="test", freight=freight(),
                        steps=_steps(url, gate.url))  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, key], env=dict(os.environ))
    try:
        _wait_for(store, key, 3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    phase, state = runner.phase_of(store, key)  # type: ignore[misc]
    assert phase == "Running"
    committed = state["outputs"]["commit"]["commit"]
    assert remote_refs(url) == before  # nothing pushed yet
    first_three = [dict(m) for m in state["metas"][:3]]

    gate.ready = True
    assert runner.resume_all(store, settings, poll=0.05) == [key]

    phase, state = runner.phase_of(store, key)  # type: ignore[misc]
    assert phase == "Succeeded"
    assert state["metas"][:3] == first_three  # the steps before were not run again
    assert state["outputs"]["gate"] == {"ready": True}
    assert state["outputs"]["push"]["commit"] == committed
    assert remote_refs(url)["refs/heads/main"] == committed


def test_resumed_without_its_work_directory_fails_cleanly(env, git_server, gate,
                                                          tmp_path: Path) -> None:  # fmt: skip
    settings, store = env
    url = _seed(git_server, tmp_path, "cfg-resume-gone")
    before = remote_refs(url)
    key = runner.create(store, project="demo", name="r2", stage="test", freight=freight(),
                        steps=_steps(url, gate.url))  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, key], env=dict(os.environ))
    try:
        _wait_for(store, key, 3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    import shutil

    shutil.rmtree(settings.home / "promotions" / "demo" / "r2")
    gate.ready = True
    runner.resume_all(store, settings, poll=0.05)
    phase, state = runner.phase_of(store, key)  # type: ignore[misc]
    assert phase == "Errored"
    assert "work directory is gone" in state["message"]
    assert remote_refs(url) == before


def test_http_errors_are_retried_up_to_the_threshold(env, gate) -> None:
    settings, store = env
    gate.ready, gate.drops = True, 2
    step = {"uses": "http", "as": "probe", "retry": {"errorThreshold": 3},
            "config": {"url": gate.url, "successExpression": "response.body.ready"}}  # fmt: skip
    key = runner.create(store, project="demo", name="h1", stage="test", freight=freight(),
                        steps=[step])  # fmt: skip
    status = runner.run(store, settings, key, poll=0.01)
    assert status["phase"] == "Succeeded"
    assert status["stepExecutionMetadata"][0]["errorCount"] == 2

    gate.drops = 1
    once = {**step, "retry": {}}
    key = runner.create(store, project="demo", name="h2", stage="test", freight=freight(),
                        steps=[once])  # fmt: skip
    status = runner.run(store, settings, key, poll=0.01)
    assert status["phase"] == "Errored"
    assert status["message"].startswith("step probe (http) errored: GET http://127.0.0.1")


def test_http_expressions_and_outputs(env, gate) -> None:
    settings, store = env
    fails = {"uses": "http", "as": "probe", "config": {
        "url": gate.url, "queryParams": [{"name": "q", "value": "1"}],
        "successExpression": "response.body.ready",
        "failureExpression": "response.status == 200 && !response.body.ready"}}  # fmt: skip
    key = runner.create(store, project="demo", name="e1", stage="test", freight=freight(),
                        steps=[fails])  # fmt: skip
    status = runner.run(store, settings, key, poll=0.01)
    assert status["phase"] == "Failed"
    assert "HTTP 200 judged a failure" in status["message"]

    gate.ready = True
    outs = {"uses": "http", "as": "probe", "config": {"url": gate.url, "outputs": [
        {"name": "ready", "fromExpression": "response.body.ready"},
        {"name": "type", "fromExpression": "response.headers['content-type']"}]}}  # fmt: skip
    key = runner.create(store, project="demo", name="e2", stage="test", freight=freight(),
                        steps=[outs])  # fmt: skip
    status = runner.run(store, settings, key, poll=0.01)
    assert status["state"]["probe"] == {"ready": True, "type": "application/json"}
