"""A git smart-HTTP server that asks for a login on every request: ``git http-backend``
(git's own CGI) behind a small threaded WSGI server on loopback.

``PrivateGit.bare(name)`` makes a bare repository that accepts pushes and returns its
``http://`` URL; ``seen`` records the Authorization header of each request (empty when
a client sent none), so a test can tell whether credentials went out.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from shipway.git.repo import Repo


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Silent(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class PrivateGit:
    root: Path
    base: str
    seen: list[str] = field(default_factory=list)

    def bare(self, name: str) -> str:
        repo = Repo.init(self.root / f"{name}.git", bare=True)
        repo.run("symbolic-ref", "HEAD", "refs/heads/main")
        repo.run("config", "http.receivepack", "true")
        return f"{self.base}/{name}.git"

    def path(self, name: str) -> Path:
        return self.root / f"{name}.git"


def _cgi(root: Path, environ: dict[str, Any], body: bytes) -> bytes:
    env = {
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": str(environ.get("PATH_INFO", "")),
        "QUERY_STRING": str(environ.get("QUERY_STRING", "")),
        "REQUEST_METHOD": str(environ["REQUEST_METHOD"]),
        "CONTENT_TYPE": str(environ.get("CONTENT_TYPE", "")),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": "kargo",
        "GIT_PROTOCOL": str(environ.get("HTTP_GIT_PROTOCOL", "")),
        "PATH": os.environ["PATH"],
    }
    return subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True,
                          check=False).stdout  # fmt: skip


def _app(git: PrivateGit, user: str, password: str) -> Callable[..., Iterable[bytes]]:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        git.seen.append(auth)
        if auth != expected:
            start("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="private"')])
            return [b"authentication required\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        head, _, payload = _cgi(git.root, environ, body).partition(b"\r\n\r\n")
        status, headers = "200 OK", []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = value
            elif key:
                headers.append((key, value))
        start(status, headers)
        return [payload]

    return app


@contextmanager
def serve(root: Path, user: str, password: str) -> Iterator[PrivateGit]:
    """Serve the bare repositories under ``root`` to ``user``:``password`` only."""
    root.mkdir(parents=True, exist_ok=True)
    git = PrivateGit(root, "")
    server = make_server("127.0.0.1", 0, _app(git, user, password), _Server, _Silent)
    git.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield git
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
