"""Fixtures for image tests: a busybox root filesystem made on the host, a store."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shipway.images.store import Store


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/busybox`` (static) and one symlink per applet, as ``busybox --install -s``."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox-static is not installed: run scripts/setup.sh")
    root = tmp_path_factory.mktemp("busybox-rootfs")
    (root / "bin").mkdir()
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    for name in applets.stdout.split():
        if name != "busybox":
            (root / "bin" / name).symlink_to("/bin/busybox")
    (root / "tmp").mkdir()
    return root


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "images")
