"""Fixtures: a real Go binary (built once with ``go``), test images, our own OSV records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from security_records import RECORDS

from security_images import WHITEOUT, alpine_files, go_binary, sample_files, write_layout


@pytest.fixture(scope="session")
def go_app(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if shutil.which("go") is None:
        pytest.fail("go is not installed")
    return go_binary(tmp_path_factory.mktemp("go"))


@pytest.fixture
def app_layout(tmp_path: Path, go_app: bytes) -> Path:
    """Debian packages, Python, npm (one layer); a Go binary and a whiteout (the next)."""
    root = tmp_path / "app-oci"
    write_layout(
        root,
        [
            sample_files(),
            {
                "usr/lib/python3/dist-packages/urllib3-1.26.5.dist-info": WHITEOUT,
                "usr/local/bin/app": go_app,
            },
        ],
        "v1",
    )
    return root


@pytest.fixture
def alpine_layout(tmp_path: Path) -> Path:
    root = tmp_path / "alpine-oci"
    write_layout(root, [alpine_files()], "3.18")
    return root


@pytest.fixture
def osv_dir(tmp_path: Path) -> Path:
    d = tmp_path / "osv"
    (d / "nested").mkdir(parents=True)
    for i, rec in enumerate(RECORDS):
        where = d / "nested" if i % 2 else d
        (where / f"{rec['id']}.json").write_text(json.dumps(rec, indent=2))
    return d
