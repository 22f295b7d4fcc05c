"""HTTPS config repositories: credentials from the environment reach git as a header only."""

from __future__ import annotations

import base64
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from updater_helpers import application, push_image

from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.updater import engine

pytestmark = pytest.mark.integration


def test_credentials_are_sent_and_not_stored(  # type: ignore[no-untyped-def]
    registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(403)  # refuse after looking: git then gives up
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        u = uuid.uuid4().hex[:6]
        push_image(
            RegistryClient(registry.host), f"auth/{u}", "1.0", created="2026-01-01T00:00:00Z"
        )
        url = f"http://127.0.0.1:{server.server_address[1]}/config.git"
        extra = "    shipway.dev/git-credentials-env: CFG\n"
        apps = parse_text(application("a", f"{registry.host}/auth/{u}", url, extra=extra), "a.yaml")
        monkeypatch.setenv("CFG_USERNAME", "robot")
        monkeypatch.setenv("CFG_PASSWORD", "pa55-word")
        [res] = engine.run_once(None, workdir=tmp_path / "w", resources=apps)
    finally:
        server.shutdown()
        server.server_close()
    assert res.error and res.config_commit is None
    assert "Basic " + base64.b64encode(b"robot:pa55-word").decode() in seen
    for f in (tmp_path / "w").rglob("*"):
        assert not f.is_file() or b"pa55-word" not in f.read_bytes()
