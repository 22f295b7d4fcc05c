"""Parallel gzip that still makes one ordinary gzip member (the pigz technique).

The input is cut into fixed blocks; each block is deflated on a worker thread
(zlib releases the GIL) with the previous 32 KiB as its preset dictionary and
ends with a sync flush, so the concatenation is a single deflate stream that
any gunzip reads. Fixed block boundaries keep the output deterministic: the
same bytes in give the same bytes out, whatever the number of threads.
Touches only the file object it writes to.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO

BLOCK = 1 << 20
WINDOW = 32 * 1024
# gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown (255)
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflate(block: bytes, zdict: bytes, level: int, last: bool) -> bytes:
    if zdict:
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return c.compress(block) + c.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzip:
    """A write-only file object producing gzip into ``out``; call ``close()`` at the end."""

    def __init__(self, out: IO[bytes], level: int = 6, workers: int | None = None) -> None:
        self.out, self.level = out, level
        self.workers = max(1, workers or min(4, os.cpu_count() or 1))
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self.pending: deque[Future[bytes]] = deque()
        self.buf = bytearray()
        self.prev_tail = b""
        self.crc = 0
        self.size = 0
        self.closed = False
        out.write(HEADER)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self.buf += data
        while len(self.buf) >= BLOCK:
            block = bytes(self.buf[:BLOCK])
            del self.buf[:BLOCK]
            self._submit(block, last=False)
        return len(data)

    def _submit(self, block: bytes, last: bool) -> None:
        zdict, self.prev_tail = self.prev_tail, block[-WINDOW:]
        if self.pool is None:
            self.out.write(_deflate(block, zdict, self.level, last))
            return
        self.pending.append(self.pool.submit(_deflate, block, zdict, self.level, last))
        while len(self.pending) > self.workers * 2 or (last and self.pending):
            self.out.write(self.pending.popleft().result())

    def flush(self) -> None:
        return None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._submit(bytes(self.buf), last=True)
            self.out.write(struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF))
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelGzip:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        elif self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
