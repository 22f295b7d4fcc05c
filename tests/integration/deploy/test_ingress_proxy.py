"""The home's ingress proxy process, against a real HTTP backend on loopback."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.cluster import podman_ingress
from shipway.runtime.ports import free_port

pytestmark = pytest.mark.integration


class _Echo(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        doc = {
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "forwarded_host": self.headers.get("X-Forwarded-Host"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "body": body,
        }
        out = json.dumps(doc).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _routes(base: Path, app: str, routes: list[dict[str, object]]) -> None:
    d = base / "ingress" / "routes"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{app}.tmp").write_text(json.dumps(routes))
    (d / f"{app}.tmp").replace(d / f"{app}.json")


def _req(port: int, host: str, path: str = "/", data: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Host": host}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_proxy_forwards_by_host_and_reports_missing_backends(tmp_path: Path, backend: int) -> None:
    base = tmp_path / "podman"
    dead = free_port()
    route = {"ingress": "shop/web", "path": "/", "pathType": "Prefix"}
    _routes(base, "a", [{**route, "host": "echo.test", "backend": "Service/shop/e port 80",
                         "port": backend}])  # fmt: skip
    _routes(base, "b", [
        {**route, "host": "missing.test", "backend": "Service/shop/m port 80", "port": None},
        {**route, "host": "dead.test", "backend": "Service/shop/d port 80", "port": dead},
    ])  # fmt: skip
    port = podman_ingress.ensure_proxy(base)
    try:
        assert podman_ingress.ensure_proxy(base) == port  # running: reused
        status, body = _req(port, "echo.test:8080", "/a/b?x=1")
        doc = json.loads(body)
        assert status == 200
        assert doc["path"] == "/a/b?x=1" and doc["host"] == "echo.test:8080"
        assert doc["forwarded_host"] == "echo.test:8080" and doc["forwarded_for"] == "127.0.0.1"
        status, body = _req(port, "echo.test", "/upload", data=b"payload")
        assert status == 201 and json.loads(body)["body"] == "payload"
        status, body = _req(port, "missing.test")
        assert status == 503 and "Ingress shop/web: backend Service/shop/m port 80" in body
        status, body = _req(port, "dead.test")
        assert status == 502 and "Service/shop/d port 80 refused" in body
        status, body = _req(port, "nowhere.test", "/x")
        assert status == 404 and "no Ingress rule for host 'nowhere.test' path /x" in body

        # a routing table written again is read again, without a restart
        _routes(base, "b", [{**route, "host": "missing.test", "backend": "x", "port": backend}])
        assert _req(port, "missing.test")[0] == 200
    finally:
        assert podman_ingress.stop_proxy(base)
    with pytest.raises(OSError):
        _req(port, "echo.test")
