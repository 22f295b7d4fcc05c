"""A registry that stops answering in the middle of an upload: the push fails, nothing hangs.

The stalling registry is a loopback HTTP server that speaks the start of the
distribution protocol (``/v2/``, blob HEAD, upload POST) and then, once an
upload's body arrives, never answers. ``SHIPWAY_NET_TIMEOUT=2`` stands in
for the 60 s default.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from updater_helpers import push_image

from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.errors import RegistryError

pytestmark = pytest.mark.integration


class Stalling:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.stalled = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, code: int, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in {"Content-Length": "0", **(headers or {})}.items():
                    self.send_header(k, v)
                self.end_headers()

            def do_GET(self) -> None:
                self._answer(200 if self.path == "/v2/" else 404)

            def do_HEAD(self) -> None:
                self._answer(404)

            def do_POST(self) -> None:
                repo = self.path.split("/blobs/")[0].removeprefix("/v2/")
                self._answer(202, {"Location": f"/v2/{repo}/blobs/uploads/{uuid.uuid4().hex}"})

            def _stall(self) -> None:
                owner.stalled.set()
                owner.release.wait(60)  # the registry went quiet mid-upload

            do_PUT = _stall
            do_PATCH = _stall

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stalling() -> Iterator[Stalling]:
    s = Stalling()
    yield s
    s.close()


def test_an_upload_to_a_registry_that_stops_answering_fails_with_a_retryable_error(
    stalling: Stalling,
) -> None:
    client = RegistryClient(stalling.host, timeout=2)
    with pytest.raises(RegistryError, match=r"did not answer PUT within 2 s.*retryable"):
        data = b"layer bytes" * 1000
        client.upload_blob("team/app", "sha256:" + hashlib.sha256(data).hexdigest(), data)
    assert stalling.stalled.is_set()


def test_a_ci_step_pushing_there_fails_instead_of_hanging(
    stalling: Stalling, registry: Any, tmp_path: Path, shipway_home: Path
) -> None:
    name = f"demo/stall-{uuid.uuid4().hex[:8]}"
    push_image(RegistryClient(registry.host), name, "1.0", created="2026-01-01T00:00:00Z")
    work = Repo.init(tmp_path / "app")
    wf = work.path / ".github/workflows/ci.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        "on: push\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - run: shipway image copy {registry.host}/{name}:1.0 {stalling.host}/{name}:1.0\n"
    )
    work.add_all()
    work.commit("ci")
    env = {**os.environ, "SHIPWAY_NET_TIMEOUT": "2", "SHIPWAY_HOME": str(shipway_home),
           "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "shipway.cli.main", "ci", "run", "-o", "json"],
        cwd=work.path, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert stalling.stalled.is_set()
    assert '"conclusion": "failure"' in proc.stdout, proc.stdout
    assert "did not answer" in proc.stdout + proc.stderr
