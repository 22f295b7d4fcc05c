"""``shipway app diff`` / ``app get`` never print Secret values, and a bad jq rule is a
clear error naming the Application and the rule; on real podman and git daemon."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deploy_helpers import application, commit, write

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPWAY, *args], capture_output=True, text=True, env=dict(os.environ), check=False
    )


def _secret(password: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "type": "Opaque",
        "stringData": {"password": password, "user": "admin"},
    }


def test_secret_values_are_masked_and_bad_jq_is_named(deploy_env, config_repo, tmp_path) -> None:
    url, work = config_repo
    write(work.path, "apps/sec/secret.yaml", _secret("hunter2"))
    commit(work, "secret")
    app = application(url, "sec", "apps/sec")
    app_file = tmp_path / "app.yaml"
    app_file.write_text(yaml.safe_dump(app.body))
    assert _cli("apply", "-f", str(app_file)).returncode == 0
    secrets = ["hunter2", "admin", base64.b64encode(b"hunter2").decode()]

    d = _cli("app", "diff", "sec")
    assert d.returncode == 1, d.stderr
    assert "+  password: +++++++++" in d.stdout and "+  user: +++++++++" in d.stdout
    assert not [s for s in secrets if s in d.stdout + d.stderr]

    s = _cli("app", "sync", "sec")
    assert s.returncode == 0, s.stderr + s.stdout
    assert _cli("app", "diff", "sec").returncode == 0

    write(work.path, "apps/sec/secret.yaml", _secret("correct horse"))
    commit(work, "rotate")
    d = _cli("app", "diff", "sec")
    assert d.returncode == 1, d.stderr
    assert "-  password: ++++++++\n+  password: +++++++++" in d.stdout
    assert "   user: ++++++++" in d.stdout  # unchanged key, still masked
    secrets += ["correct horse", base64.b64encode(b"correct horse").decode()]
    assert not [s for s in secrets if s in d.stdout + d.stderr]
    for fmt in ("yaml", "json"):
        got = _cli("app", "get", "sec", "-o", fmt)
        assert got.returncode == 0, got.stderr
        assert not [s for s in secrets if s in got.stdout + got.stderr]

    app.body["spec"]["ignoreDifferences"] = [
        {"kind": "Secret", "jqPathExpressions": [".data.password | ..a"]}
    ]
    app_file.write_text(yaml.safe_dump(app.body))
    assert _cli("apply", "-f", str(app_file)).returncode == 0
    bad = _cli("app", "diff", "sec")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr
    err = " ".join(bad.stderr.split())  # the console wraps long lines
    assert err.startswith(
        "application/sec: ComparisonError: Application 'sec': ignoreDifferences[0] (Secret): "
        "jq expression '.data.password | ..a': syntax error"
    ), err
    assert err.endswith("line 1, column 20"), err
