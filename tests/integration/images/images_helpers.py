"""Helpers shared by the image integration tests."""

from __future__ import annotations

import os
import subprocess

# podman 4.3 with runc on this kind of machine sometimes loses a container's exit code
# ("no such exit code (container in state running)"): a podman race, not ours; run again.
_PODMAN_RACE = "no such exit code"


def podman_run(env: dict[str, str], *args: str) -> str:
    for _ in range(3):
        proc = subprocess.run(
            ["podman", *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode == 0 or _PODMAN_RACE not in proc.stderr:
            break
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
