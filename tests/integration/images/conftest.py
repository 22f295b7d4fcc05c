"""Fixtures for image tests: a busybox root filesystem made on the host, a store.

The helper modules next to this file (``images_helpers``, ``images_tokenissuer``,
``images_cloudservers``) are imported by name: with ``--import-mode=importlib``
pytest does not put test folders on ``sys.path``, so this conftest does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shipway.images.build import build
from shipway.images.store import Store

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


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


@pytest.fixture(scope="session")
def base_ref(registry, busybox_rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:  # type: ignore[no-untyped-def]
    df = tmp_path_factory.mktemp("base-df") / "Containerfile"
    df.write_text('FROM scratch\nCOPY . /\nCMD ["/bin/sh"]\n')
    store = Store(tmp_path_factory.mktemp("base-store"))
    ref = f"{registry.host}/images-test/busybox:1"
    res = build(busybox_rootfs, dockerfile=df, tags=[ref], push=True, store=store)
    assert res.pushed == [f"{registry.host}/images-test/busybox@{res.digest}"]
    return ref
