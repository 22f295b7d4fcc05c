"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) on a free loopback
port, behind Basic authentication (its ``--web.config.file``), clustering off."""

from __future__ import annotations

import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shipway.runtime import ports

BINARY = "/usr/bin/prometheus-alertmanager"


def _bcrypt(password: str) -> str:
    """A bcrypt hash for the web config (libcrypt's, through Python's ``crypt``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


@dataclass
class Alertmanager:
    url: str
    auth: tuple[str, str]
    log: Path

    def alerts(self) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.url}/api/v2/alerts", auth=self.auth, timeout=10)
        resp.raise_for_status()
        found = resp.json()
        assert isinstance(found, list)
        return found


@contextmanager
def running(workdir: Path, user: str, password: str) -> Iterator[Alertmanager]:
    if shutil.which(BINARY) is None:
        pytest.fail("prometheus-alertmanager is not installed: run scripts/setup.sh")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(yaml.safe_dump({"route": {"receiver": "none"},
                                      "receivers": [{"name": "none"}]}))  # fmt: skip
    web = workdir / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {user: _bcrypt(password)}}))
    port = ports.free_port()
    log = workdir / "alertmanager.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [BINARY, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web}",
             "--cluster.listen-address="],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"{url}/-/ready", auth=(user, password), timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"alertmanager did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield Alertmanager(url, (user, password), log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
