"""Helpers shared by the image integration tests."""

from __future__ import annotations

import os
import subprocess


def podman_run(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        ["podman", *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
