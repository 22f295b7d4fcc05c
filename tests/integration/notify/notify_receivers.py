"""Real receivers on loopback: an SMTP server (aiosmtpd), an HTTP webhook receiver (that
can check Flux's ``X-Signature`` HMAC and refuse what is not signed) and a
Slack-compatible API (``chat.postMessage``/``chat.update`` answering as Slack documents)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from shipway.runtime.ports import free_port


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; answers ``status`` (and ``answer`` for Slack's API)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    slack: bool = False
    hmac_key: str = ""  # when set: X-Signature must be sha256=<HMAC of the body>, else 401
    reply: bytes | None = None  # the body to answer (Teams answers "1")
    echo: bool = False  # a refusal that repeats the request's headers (secrets included)
    on_request: Any = None  # called with each request before the answer (a test's hook)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def signed(self, got: Received) -> bool:
        want = "sha256=" + hmac.new(self.hmac_key.encode(), got.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, got.headers.get("X-Signature", ""))

    def answer(self, got: Received) -> bytes:
        if self.reply is not None:
            return self.reply
        if self.echo and self.status >= 400:
            return f"receiver says no to {json.dumps(got.headers)}".encode()
        if not self.slack:
            return b"ok" if self.status < 400 else b"receiver says no"
        msg = json.loads(got.body)
        with self.lock:
            ts = msg.get("ts") or f"1700000000.{len(self.requests):06d}"
            answer = {"ok": True, "channel": msg["channel"], "ts": ts}
            self.answers.append(answer)
        return json.dumps(answer).encode()


def _serve(rec: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            got = Received(self.command, self.path, dict(self.headers), self.rfile.read(n))
            status = rec.status
            if rec.hmac_key and not rec.signed(got):
                status = 401
            else:
                with rec.lock:
                    rec.requests.append(got)
            if rec.on_request is not None:
                rec.on_request(got)
            body = rec.answer(got) if status != 401 else b"bad signature"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    yield from _serve(Receiver())


@pytest.fixture
def slack_api() -> Iterator[Receiver]:
    yield from _serve(Receiver(slack=True))


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class Smtp:
    port: int
    mailbox: _Mailbox


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    box = _Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield Smtp(port, box)
    finally:
        ctl.stop()
