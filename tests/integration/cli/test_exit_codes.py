"""Exit codes as the README documents them, through the installed ``shipway`` script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SHIPWAY, *args], capture_output=True, text=True,
                          env=dict(os.environ), check=False)  # fmt: skip


def test_inspecting_a_missing_tag_is_not_found(registry, shipway_home: Path) -> None:
    ref = f"{registry.host}/nothing-here:v9"
    found = _cli("image", "inspect", ref)
    assert found.returncode == 3, found.stderr
    assert found.stderr.startswith(f"error: {ref}: ")
    assert "Traceback" not in found.stderr


def test_typos_bad_input_and_not_found(shipway_home: Path) -> None:
    typo = _cli("gett", "apps")
    assert typo.returncode == 2
    assert typo.stderr.splitlines()[:4] == [
        'error: unknown command "gett" for "shipway"',
        "",
        "Did you mean this?",
        "        get",
    ]
    sub = _cli("app", "lsit")
    assert sub.returncode == 2 and "Did you mean this?" in sub.stderr and "list" in sub.stderr
    bad = _cli("get", "apps", "-o", "custom-columns=NAME")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>"
    )
    missing = _cli("get", "apps", "nope")
    assert missing.returncode == 3 and "not found" in missing.stderr
    assert _cli("describe", "apps", "nope").returncode == 3
    assert _cli("get", "nosuchkind").returncode == 2


def test_not_logged_in_is_access_refused(shipway_home: Path) -> None:
    for args in (["account", "get-user-info"], ["account", "can-i", "sync", "applications", "*"]):
        done = _cli(*args)
        assert done.returncode == 6, (args, done.stderr)
        assert "not logged in to a controller: shipway login URL" in done.stderr
