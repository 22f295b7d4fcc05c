"""Small HTTP helpers of the registry client: scopes, Link pagination, error text, chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx

CHUNK = 1 << 20
STATUS_TEXT = {
    401: "unauthorized: authentication required (try `shipway image login {host}`)",
    403: "denied: the credentials lack permission",
    404: "not found",
    405: "operation not supported by this registry",
    429: "too many requests: rate limited by the registry",
}


def pull_scope(repo: str) -> str:
    return f"repository:{repo}:pull"


def push_scope(repo: str) -> str:
    return f"repository:{repo}:pull,push"


def with_digest(loc: str, digest: str) -> str:
    return loc + ("&" if "?" in loc else "?") + "digest=" + digest.replace(":", "%3A")


def next_link(resp: httpx.Response) -> str:
    link = resp.headers.get("link", "")
    for part in link.split(","):
        if 'rel="next"' in part or "rel=next" in part:
            target = part.split(";")[0].strip().strip("<>")
            return str(urljoin(str(resp.url), target))
    return ""


def registry_message(resp: httpx.Response) -> str:
    try:
        errs = json.loads(resp.content or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        return ""
    return "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in errs[:3] if e)


def file_chunks(path: Path) -> Iterator[bytes]:
    return chunks_of(path, CHUNK)


def chunks_of(data: bytes | Path, size: int) -> Iterator[bytes]:
    if isinstance(data, Path):
        with open(data, "rb") as fh:
            while chunk := fh.read(size):
                yield chunk
    else:
        for i in range(0, len(data), size):
            yield bytes(data[i : i + size])


def read_at(data: bytes | Path, offset: int, size: int) -> bytes:
    if isinstance(data, Path):
        with open(data, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)
    return bytes(data[offset : offset + size])
