"""Webhook bodies against the real controller on loopback: over the size limit is 413
(declared or chunked), malformed or hostile JSON is 400 with the reason, never 500."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from shipway.runtime.ports import free_port, wait_listening

LIMIT = 64 * 1024


HOME: dict[str, str] = {}


def _token(kind: str) -> str:
    """The controller's own forge or registry secret (``shipway hook token KIND``)."""
    env = {**os.environ, "SHIPWAY_HOME": HOME["home"]}
    out = subprocess.run(
        [sys.executable, "-m", "shipway.cli.main", "hook", "token", kind],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One controller for the module (its own state directory)."""
    tmp_path = tmp_path_factory.mktemp("bounded-hooks")
    HOME["home"] = str(tmp_path / "home")
    port = free_port()
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home"), "SHIPWAY_MAX_BODY_BYTES": "64KiB"}
    env.pop("SHIPWAY_DATABASE_URL", None)
    env.pop("SHIPWAY_WEBHOOK_SECRET", None)
    log = (tmp_path / "controller.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.main", "controller", "--port", str(port),
         "--resync", "3600"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_listening(port, timeout=30, what="controller")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.parametrize("route", ["/hooks/git", "/hooks/forge", "/hooks/registry"])
def test_a_body_over_the_limit_is_413(controller: str, route: str) -> None:
    body = b"{" + b" " * (LIMIT + 10) + b"}"
    resp = httpx.post(controller + route, content=body, timeout=10)
    assert resp.status_code == 413
    assert "SHIPWAY_MAX_BODY_BYTES" in resp.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(LIMIT // 1024 + 5):
            yield b" " * 1024

    resp = httpx.post(controller + route, content=chunks(), timeout=10)
    assert resp.status_code == 413
    assert httpx.get(controller + "/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 30_000 + b"]" * 30_000,  # deeper than Python's recursion limit
        b'{"ref": "\xff\xfe"}',  # not UTF-8
        b'{"ref": nope}',
        b"[1, 2]",
    ],
)
def test_hostile_json_is_400_never_500(controller: str, body: bytes) -> None:
    """With valid credentials (the forge's signature, the registry's token), a hostile
    body is still refused as malformed, never a 500."""
    sig = hmac.new(_token("forge").encode(), body, hashlib.sha256).hexdigest()
    forge = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d1",
             "X-Hub-Signature-256": f"sha256={sig}"}  # fmt: skip
    registry = {"Content-Type": "application/vnd.docker.distribution.events.v1+json",
                "Authorization": f"Bearer {_token('registry')}"}  # fmt: skip
    for route, headers in (
        ("/hooks/git", {}),
        ("/hooks/forge", forge),
        ("/hooks/registry", registry),
    ):
        resp = httpx.post(controller + route, content=body, headers=headers, timeout=10)
        assert resp.status_code == 400, (route, resp.status_code, resp.text)
        assert resp.json()["detail"]
