"""Pod ``log`` and ``exec`` for the fake API server, backed by ``podman logs``/``podman exec``.

``exec`` speaks the Kubernetes channel protocol over a websocket
(``v5.channel.k8s.io`` or ``v4.channel.k8s.io``): each binary message starts
with a channel byte (1 stdout, 2 stderr, 3 the final Status as JSON; v5 adds
255 to close a channel). Framing is ``wsproto``'s; a client that goes away
makes the ``podman exec`` client stop (as with a real kubelet, the process in
the container may live on).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from typing import TYPE_CHECKING, Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
)

if TYPE_CHECKING:
    from fake_kube.kubelet import Kubelet

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


def logs(handler: Any, kubelet: Kubelet, ctr: str, q: dict[str, list[str]]) -> None:
    """Stream ``podman logs`` of ``ctr`` as a chunked text/plain body."""
    args = ["podman", "logs"]
    if (q.get("follow") or ["false"])[-1] == "true":
        args.append("--follow")
    if q.get("tailLines"):
        args += ["--tail", q["tailLines"][-1]]
    proc = subprocess.Popen([*args, ctr], env=kubelet.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    assert proc.stdout is not None
    try:
        while chunk := os.read(proc.stdout.fileno(), 65536):
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        proc.kill()
        proc.wait()


class _Socket:
    """A websocket server connection on the handler's socket (sends under a lock)."""

    def __init__(self, handler: Any) -> None:
        self.sock: socket.socket = handler.connection
        self.ws = WSConnection(ConnectionType.SERVER)
        self.lock = threading.Lock()
        self.gone = threading.Event()
        self.protocol = ""
        raw = handler.raw_requestline + b"".join(
            f"{k}: {v}\r\n".encode() for k, v in handler.headers.items()
        )
        self.ws.receive_data(raw + b"\r\n")

    def handshake(self) -> bool:
        for event in self.ws.events():
            if isinstance(event, Request):
                offered = [p.strip() for p in event.subprotocols]
                chosen = next((p for p in PROTOCOLS if p in offered), None)
                if chosen is None:
                    self._raw(self.ws.send(RejectConnection(status_code=400)))
                    return False
                self.protocol = chosen
                self._raw(self.ws.send(AcceptConnection(subprotocol=chosen)))
                return True
        return False

    def _raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.gone.set()

    def send(self, channel: int, data: bytes) -> None:
        with self.lock:
            if not self.gone.is_set():
                self._raw(self.ws.send(BytesMessage(data=bytes([channel]) + data)))

    def close(self) -> None:
        with self.lock:
            if not self.gone.is_set():
                self._raw(self.ws.send(CloseConnection(code=1000)))
            self.gone.set()

    def read_until_gone(self) -> None:
        """Read frames (pings, stdin we do not serve, close) until the client goes away."""
        while not self.gone.is_set():
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.gone.set()
                return
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, Ping):
                    with self.lock:
                        self._raw(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    with self.lock:
                        if not self.gone.is_set():
                            self._raw(self.ws.send(event.response()))
                        self.gone.set()
                    return


def exec_ws(handler: Any, kubelet: Kubelet, ctr: str, command: list[str]) -> None:
    """Run ``command`` in ``ctr`` with ``podman exec``, streamed over the channel protocol."""
    ws = _Socket(handler)
    if not ws.handshake():
        return
    proc = subprocess.Popen(["podman", "exec", ctr, *command], env=kubelet.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)  # fmt: skip

    def pump(fd: int, channel: int) -> None:
        while chunk := os.read(fd, 65536):
            ws.send(channel, chunk)

    assert proc.stdout is not None and proc.stderr is not None
    pumps = [threading.Thread(target=pump, args=(p.fileno(), ch), daemon=True)
             for p, ch in ((proc.stdout, 1), (proc.stderr, 2))]  # fmt: skip
    for t in pumps:
        t.start()

    def client() -> None:
        ws.read_until_gone()
        if proc.poll() is None:
            proc.kill()

    reader = threading.Thread(target=client, daemon=True)
    reader.start()
    proc.wait()
    for t in pumps:
        t.join(timeout=5)
    code = proc.wait()
    ws.send(3, json.dumps(_status(code)).encode())
    ws.close()
    reader.join(timeout=5)
    proc.stdout.close()
    proc.stderr.close()


def _status(code: int) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: exit status {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }
