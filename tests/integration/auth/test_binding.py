"""The controller listens on loopback; elsewhere only with TLS (or --insecure).

A non-loopback ``--host`` without TLS is refused before anything listens;
with a certificate the controller serves HTTPS, and ``shipway login
--server-crt`` verifies it (without it, verification fails).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from auth_controller import cli, running

pytestmark = pytest.mark.integration


def test_other_address_needs_tls(shipway_home: Path, tmp_path: Path) -> None:
    refused = cli("controller", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0 without TLS" in refused.stderr
    assert "--insecure" in refused.stderr
    (tmp_path / "c.pem").write_text("x")
    half = cli("controller", "--host", "0.0.0.0", "--tls-cert", str(tmp_path / "c.pem"))
    assert half.returncode == 2 and "--tls-cert and --tls-key go together" in half.stderr
    assert not (shipway_home / "initial-admin.json").exists()  # refused before any start


def test_tls_controller_and_login(shipway_home: Path, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    with running(shipway_home, "--tls-cert", str(cert), "--tls-key", str(key),
                 scheme="https", verify=str(cert)) as ctl:  # fmt: skip
        unverified = cli("login", ctl.url, "--token", ctl.admin_token)
        assert unverified.returncode == 5 and "CERTIFICATE_VERIFY_FAILED" in unverified.stderr
        login = cli("login", ctl.url.removeprefix("https://"), "--token", ctl.admin_token,
                    "--server-crt", str(cert))  # fmt: skip
        assert login.returncode == 0, login.stderr
        listed = cli("ci", "list", "-o", "json")
        assert listed.returncode == 0 and json.loads(listed.stdout)["items"] == []
