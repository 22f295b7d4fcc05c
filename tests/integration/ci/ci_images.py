"""Building the small test images of the CI tests with buildah, in the tests' podman store."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping


def run_buildah(podman: Mapping[str, str], *args: str) -> str:
    """``buildah ARGS`` with the podman environment of the tests; its stdout, stripped."""
    env = {**os.environ, **podman}
    done = subprocess.run(["buildah", *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()
