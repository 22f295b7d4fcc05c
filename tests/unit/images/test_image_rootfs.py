"""Unpacking layer tars safely: entries that would escape the root are refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from shipway.images.build import rootfs
from shipway.model.errors import InputError


def _tar(members: list[tuple[str, str, str]]) -> tarfile.TarFile:
    """(kind, name, data-or-linkname) → an in-memory tar, opened for reading."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for kind, name, data in members:
            ti = tarfile.TarInfo(name)
            if kind == "file":
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data.encode()))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[
                kind
            ]
            ti.mode = 0o755
            ti.linkname = data
            tar.addfile(ti)
    buf.seek(0)
    return tarfile.open(fileobj=buf, mode="r")


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([("file", "../evil", "x")], "climbs out"),
        ([("file", "a/../../evil", "x")], "climbs out"),
        ([("file", "/etc/evil", "x")], "absolute"),
        ([("hard", "h", "../../etc/passwd")], "climbs out"),
        ([("sym", "d/link", "../../../etc")], "outside the root"),
        ([("sym", "link", "/etc"), ("file", "link/passwd", "x")], "through a symlink"),
    ],
)
def test_escaping_entries_are_refused(
    tmp_path: Path, members: list[tuple[str, str, str]], reason: str
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(InputError, match=reason) as err, _tar(members) as tar:
        rootfs.unpack_tar(tar, root, "layer sha256:abc")
    assert err.value.subject == "layer sha256:abc"
    assert not (tmp_path / "evil").exists()


def test_whiteouts_and_links_apply(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    lower = [
        ("dir", "d", ""),
        ("file", "d/a", "1"),
        ("file", "d/b", "2"),
        ("dir", "o", ""),
        ("file", "o/x", "3"),
    ]
    upper = [
        ("file", "d/.wh.a", ""),
        ("file", "o/.wh..wh..opq", ""),
        ("file", "o/y", "4"),
        ("sym", "s", "/d/b"),
        ("hard", "h", "d/b"),
    ]
    for layer in (lower, upper):
        with _tar(layer) as tar:
            rootfs.unpack_tar(tar, root, "l")
    assert sorted(p.name for p in (root / "d").iterdir()) == ["b"]
    assert sorted(p.name for p in (root / "o").iterdir()) == ["y"]
    assert (root / "h").read_text() == "2"
    assert rootfs.scoped(root, "s", "w") == root / "d" / "b"
    assert rootfs.scoped(root, "../../s", "w") == root / "d" / "b"
