"""``git ls-remote`` for ``git://`` URLs without a subprocess: the ref advertisement, read directly.

The controller asks the git server where a ref points for every pushed sha
(``controller.tips``); a ``git ls-remote`` process costs a fork and exec of
git per question, most of the time a webhook waits. Over the git protocol
(``git://host[:port]/path``, what ``git daemon`` serves) the answer is the
server's ref advertisement: connect, ask for ``git-upload-pack PATH``, read
pkt-lines up to the flush, hang up (protocol v0, as ``git ls-remote`` reads
it). Other URLs are not handled here (``refs`` returns None): the caller
runs git. Errors are ``GitError`` with the server's own words. Touches only
the socket to the git server.
"""

from __future__ import annotations

import contextlib
import socket
from urllib.parse import urlsplit

from shipway.model.errors import GitError

DEFAULT_PORT = 9418
MAX_ADVERTISEMENT = 64 * 1024 * 1024  # refs of a very large repository, and no more


def _pkt(text: str) -> bytes:
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data


class _Reader:
    def __init__(self, sock: socket.socket, url: str) -> None:
        self.sock, self.url, self.buf, self.total = sock, url, b"", 0

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise GitError("the git server hung up during the ref advertisement",
                               subject=self.url)  # fmt: skip
            self.total += len(chunk)
            if self.total > MAX_ADVERTISEMENT:
                raise GitError("the ref advertisement is too large", subject=self.url)
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self) -> bytes | None:
        """One pkt-line's payload; None at a flush packet."""
        head = self.exact(4)
        try:
            size = int(head, 16)
        except ValueError:
            raise GitError(f"not a git server (got {head!r})", subject=self.url) from None
        if size == 0:
            return None
        if size < 4:
            raise GitError(f"bad pkt-line length {size}", subject=self.url)
        return self.exact(size - 4)


def refs(url: str, timeout: float) -> dict[str, str] | None:
    """``ref -> sha`` of a ``git://`` repository (peeled tags as ``ref^{}``); None for others."""
    parts = urlsplit(url)
    if parts.scheme != "git" or not parts.hostname:
        return None
    host, port = parts.hostname, parts.port or DEFAULT_PORT
    path = parts.path or "/"
    hostname = f"{host}:{port}" if parts.port else host
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(_pkt(f"git-upload-pack {path}\0host={hostname}\0"))
            reader = _Reader(sock, url)
            out: dict[str, str] = {}
            while (payload := reader.line()) is not None:
                text = payload.decode("utf-8", "replace").rstrip("\n")
                if text.startswith("ERR "):
                    raise GitError(f"git server: {text[4:]}", subject=url)
                text = text.partition("\0")[0]
                sha, _, ref = text.partition(" ")
                if ref and ref != "capabilities^{}":
                    out[ref] = sha
            with contextlib.suppress(OSError):  # nothing wanted: the server ends the conversation
                sock.sendall(b"0000")
            return out
    except OSError as exc:
        raise GitError(f"ls-remote {url}: {exc}", subject=url) from exc
