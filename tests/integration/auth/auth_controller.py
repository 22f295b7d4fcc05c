"""A real ``shipway controller`` process on a loopback port, and the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from click.testing import CliRunner

from shipway.cli.main import main
from shipway.runtime import ports


@dataclass
class Controller:
    url: str
    home: Path
    admin_token: str
    admin_password: str
    log: Path


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
        process: bool = False) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``shipway ARGS`` with this test's environment: in this process through the CLI's own
    ``main`` (its error handling and exit codes), or with ``process`` in a fresh one."""
    if process:
        return subprocess.run([sys.executable, "-m", "shipway.cli.main", *args], input=stdin,
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, **(env or {})})  # fmt: skip
    runner = CliRunner()
    code: int | str | None = 0
    with runner.isolation(input=stdin, env=env) as (out, err, _both):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return subprocess.CompletedProcess(list(args), int(code or 0) if not isinstance(code, str)
                                       else 1, out.getvalue().decode(),
                                       err.getvalue().decode())  # fmt: skip


@contextmanager
def running(home: Path, *extra: str, scheme: str = "http",
            verify: bool | str = True) -> Iterator[Controller]:  # fmt: skip
    port = ports.free_port()
    log = home.parent / f"controller-{port}.log"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipway.cli.main", "controller", "--port", str(port), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    url = f"{scheme}://127.0.0.1:{port}"
    ca = verify if isinstance(verify, bool) else ssl.create_default_context(cafile=verify)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1, verify=ca).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"controller did not start:\n{log.read_text()}")
            time.sleep(0.1)
        secret = json.loads((home / "initial-admin.json").read_text())
        yield Controller(url, home, secret["token"], secret["password"], log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
