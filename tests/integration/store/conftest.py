"""A real PostgreSQL 15 server (Debian's), started on a free loopback port for the session."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.runtime import ports


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: run scripts/setup.sh")
    return Path(found[-1]).parent


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; run it as the 'postgres' user apt created.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bindir = _pg_bin()
    data = Path(tempfile.mkdtemp(prefix="shipway-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = ports.free_port()
    subprocess.run(
        _as_postgres(
            [str(bindir / "initdb"), "-D", str(data), "-U", "shipway", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-w",
                "-l",
                str(data / "log"),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "shipway",
                    "shipway",
                ]
            ),
            check=True,
            capture_output=True,
        )
        yield f"postgresql://shipway@127.0.0.1:{port}/shipway"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)
