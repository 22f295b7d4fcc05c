"""Parallel gzip: one standard gzip member, the same bytes whatever the thread count."""

from __future__ import annotations

import gzip
import io
import os
import subprocess

import pytest

from shipway.images.build.pgzip import BLOCK, ParallelGzip


def _compress(data: bytes, workers: int, piece: int = 70_001) -> bytes:
    out = io.BytesIO()
    with ParallelGzip(out, 6, workers) as gz:
        for i in range(0, len(data), piece):
            gz.write(data[i : i + piece])
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [b"", b"x", bytes(BLOCK), os.urandom(BLOCK * 2 + 5) + b"text " * 300_000],
    ids=["empty", "one-byte", "one-block", "many-blocks"],
)
def test_round_trip_and_determinism(data: bytes) -> None:
    one, two, four = (_compress(data, w) for w in (1, 2, 4))
    assert one == two == four
    assert gzip.decompress(one) == data
    # the system gunzip agrees, and sees a single member
    proc = subprocess.run(["gzip", "-dc"], input=one, capture_output=True, check=True)
    assert proc.stdout == data


def test_compresses() -> None:
    data = b"hello layer\n" * 500_000
    assert len(_compress(data, 2)) < len(data) // 50
