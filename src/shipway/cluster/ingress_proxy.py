"""The podman host's ingress controller: one HTTP reverse proxy on 127.0.0.1 per home.

Run as ``python -m shipway.cluster.ingress_proxy --routes DIR --port N``
(started and stopped by ``podman_ingress``). For each connection it reads
one HTTP/1.x request head, picks a route with ``ingress_routes.match`` from
the tables in ``DIR/*.json`` (one per application, written atomically by
the podman target; re-read when a file changes), and forwards the request
to ``127.0.0.1:<backend port>`` with ``Connection: close`` and the
``X-Forwarded-For``/``-Host``/``-Proto`` headers; the response is streamed
back unchanged and the connection closed. No route: 404; a route whose
Service or port does not exist or whose backend refuses: 503/502, naming
the Ingress and the backend. Binds 127.0.0.1 only; reads ``DIR``, touches
nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from shipway.cluster import ingress_routes

HEAD_LIMIT = 64 * 1024
_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"upgrade", b"trailer"}


class Routes:
    """The routing tables of every application, re-read when one of the files changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seen: tuple[tuple[str, int, int, int], ...] = ()
        self.routes: list[dict[str, Any]] = []

    def current(self) -> list[dict[str, Any]]:
        files = sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []
        seen = []
        for f in files:
            with contextlib.suppress(OSError):
                st = f.stat()
                seen.append((f.name, st.st_ino, st.st_mtime_ns, st.st_size))  # replaced: new inode
        if tuple(seen) != self._seen:
            routes: list[dict[str, Any]] = []
            for f in files:
                with contextlib.suppress(OSError, ValueError):
                    routes += list(json.loads(f.read_text()))
            self.routes, self._seen = routes, tuple(seen)
        return self.routes


def _response(status: str, text: str) -> bytes:
    body = (text + "\n").encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        if writer.can_write_eof():
            writer.write_eof()


async def handle(
    routes: Routes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            writer.write(_response("400 Bad Request", "malformed request line"))
            return
        method, target, version = parts
        headers = [ln.split(b":", 1) for ln in lines[1:] if b":" in ln]
        host = next((v.strip() for k, v in headers if k.strip().lower() == b"host"), b"")
        if target.startswith(b"http://"):  # absolute form
            rest = target[len(b"http://") :]
            host, _, tail = rest.partition(b"/")
            target = b"/" + tail
        name = host.decode("latin-1").rsplit(":", 1)[0] if b"]" not in host else ""
        path = target.split(b"?", 1)[0].decode("latin-1") or "/"
        route = ingress_routes.match(routes.current(), name, path)
        if route is None:
            writer.write(
                _response("404 Not Found", f"no Ingress rule for host {name!r} path {path}")
            )
            return
        if route.get("port") is None:
            writer.write(
                _response(
                    "503 Service Unavailable",
                    f"Ingress {route['ingress']}: backend {route['backend']} does not exist",
                )
            )
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", int(route["port"]))
        except OSError as exc:
            writer.write(
                _response(
                    "502 Bad Gateway",
                    f"Ingress {route['ingress']}: backend {route['backend']} refused: {exc}",
                )
            )
            return
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        kept = [(k, v) for k, v in headers if k.strip().lower() not in _HOP]
        kept += [
            (b"Connection", b" close"),
            (b"X-Forwarded-For", b" " + str(peer[0]).encode()),
            (b"X-Forwarded-Host", b" " + host),
            (b"X-Forwarded-Proto", b" http"),
        ]
        out = b" ".join([method, target, version]) + b"\r\n"
        out += b"".join(k + b":" + v + b"\r\n" for k, v in kept) + b"\r\n"
        up_writer.write(out)
        await up_writer.drain()
        upload = asyncio.ensure_future(_pump(reader, up_writer))
        await _pump(up_reader, writer)
        upload.cancel()
        up_writer.close()
    finally:
        with contextlib.suppress(OSError, ConnectionError):
            await writer.drain()
        writer.close()


async def serve(directory: Path, port: int, host: str = "127.0.0.1") -> None:
    routes = Routes(directory)
    server = await asyncio.start_server(
        lambda r, w: handle(routes, r, w), host, port, limit=HEAD_LIMIT, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="shipway's ingress proxy for the podman host")
    parser.add_argument("--routes", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.routes, args.port))


if __name__ == "__main__":
    main()
