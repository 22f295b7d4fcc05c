"""A registry that answers with hostile or broken JSON: a clear ``RegistryError``, never a
decoder's error or the interpreter's recursion limit.

The registry is a loopback HTTP server speaking enough of the distribution API
(``/v2/``, manifests, tag lists) to hand back a manifest nested 100,000 levels
deep, a manifest that is not JSON, a tag list that is a JSON list, and bytes that
are not UTF-8. Each is asked through the client and through ``shipway image``
(one line on stderr, the exit code of an external error, no traceback).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shipway.images.registry import RegistryClient
from shipway.model.errors import RegistryError

pytestmark = pytest.mark.integration

DEEP = b"[" * 100_000 + b"]" * 100_000
BODIES = {
    "deep": DEEP,
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "list": b'["not", "an", "object"]',
    "latin1": b'{"schemaVersion": 2, "x": "\xff"}',
}


class Hostile:
    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/v2/":
                    self._send(b"{}", "application/json")
                elif "/manifests/" in self.path:
                    what = self.path.rsplit("/", 1)[1]
                    self._send(BODIES[what], "application/vnd.oci.image.manifest.v1+json")
                elif self.path.startswith("/v2/") and "/tags/list" in self.path:
                    what = self.path.split("/")[2]
                    self._send(BODIES[what], "application/json")
                else:
                    self.send_error(404)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    h = Hostile()
    yield h
    h.close()


@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("deep", "JSON nested deeper than 200 levels"),
        ("html", "invalid JSON"),
        ("list", "is not a JSON object"),
        ("latin1", "not UTF-8 text"),
    ],
)
def test_a_broken_manifest_or_tag_list_is_a_registry_error(
    hostile: Hostile, what: str, reason: str
) -> None:
    with RegistryClient(hostile.host, insecure=True) as client:
        with pytest.raises(RegistryError, match=reason) as err:
            client.get_image_manifest("team/app", what)
        assert err.value.subject is not None and "team/app" in err.value.subject
        with pytest.raises(RegistryError, match=reason):
            client.list_tags(f"{what}/app")


def test_the_cli_says_it_in_one_line(hostile: Hostile, tmp_path: Path) -> None:
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home")}
    for argv in (["image", "inspect", f"{hostile.host}/team/app:deep"],
                 ["image", "tags", f"{hostile.host}/deep/app"]):  # fmt: skip
        proc = subprocess.run([sys.executable, "-m", "shipway.cli.main", *argv], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == RegistryError.exit_code, proc.stderr
        assert "Traceback" not in proc.stderr and "bug" not in proc.stderr, proc.stderr
        assert "JSON nested deeper than 200 levels" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
