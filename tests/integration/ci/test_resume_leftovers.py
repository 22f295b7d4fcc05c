"""Before a GitHub Actions or GitLab run killed outright resumes, the containers it left in
podman go (the jobs' and services' containers are named ``shipway-ci-<run>-…``); another
run's containers stay."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shipway.ci import service
from shipway.runtime import podman_env

pytestmark = pytest.mark.integration


def _names(env: dict[str, str]) -> set[str]:
    out = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True,
                         text=True, check=True, env={**os.environ, **env})  # fmt: skip
    return set(out.stdout.split())


def test_the_killed_runs_containers_go_and_no_others(tmp_path: Path, shipway_home: Path) -> None:
    env = podman_env.for_home(shipway_home)
    root = tmp_path / "rootfs"
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    mine, other = "shipway-ci-r1-build-step-a1", "shipway-ci-r2-build-step-b2"
    for name in (mine, other):
        subprocess.run(["podman", "run", "-d", "--name", name, "--rootfs", str(root),
                        "/bin/busybox", "sleep", "300"],
                       check=True, capture_output=True, env={**os.environ, **env})  # fmt: skip
    try:
        lines: list[str] = []
        service._clear_containers("r1", "host", None, lines.append)
        left = _names(env)
        assert mine not in left and other in left
        assert lines == [f"[r1] removed 1 container(s) the interrupted run left: {mine}"]
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", mine, other], capture_output=True,
                       env={**os.environ, **env})  # fmt: skip
