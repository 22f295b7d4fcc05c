"""Reading a built image back for the differential test against buildah.

``flatten`` applies an image's layers in order (whiteouts and opaque directories as
the OCI image spec defines them) and returns the resulting file tree, one record per
path: type, permission bits, uid, gid and either the symlink target or the sha256
of the contents. A hard link is recorded as the file it names (they are one inode
once extracted). A directory that no layer names but a path needs is recorded as
containers/storage makes it when it extracts the layer: 0755, root.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from pathlib import Path
from typing import Any

Record = tuple[str, int, int, int, str]  # type, mode, uid, gid, link target or sha256
IMPLICIT_DIR: Record = ("dir", 0o755, 0, 0, "")


def _norm(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


def _record(tar: tarfile.TarFile, m: tarfile.TarInfo) -> Record:
    perm = m.mode & 0o7777
    if m.isdir():
        return ("dir", perm, m.uid, m.gid, "")
    if m.issym():
        return ("symlink", 0o777, m.uid, m.gid, m.linkname)  # a link's mode means nothing
    if m.isfile():
        data = tar.extractfile(m)
        body = data.read() if data is not None else b""
        return ("file", perm, m.uid, m.gid, hashlib.sha256(body).hexdigest())
    kind = {tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}
    return (kind.get(m.type, repr(m.type)), perm, m.uid, m.gid, f"{m.devmajor}:{m.devminor}")


def _drop(tree: dict[str, Record], path: str, children_only: bool = False) -> None:
    prefix = path + "/" if path else ""
    for name in [n for n in tree if n.startswith(prefix) or (not children_only and n == path)]:
        del tree[name]


def flatten(layers: list[Path]) -> dict[str, Record]:
    tree: dict[str, Record] = {}
    for blob in layers:
        with tarfile.open(blob, "r:*") as tar:
            members = tar.getmembers()
            for m in members:  # whiteouts hide what the lower layers hold
                name = _norm(m.name)
                base = posixpath.basename(name)
                parent = posixpath.dirname(name)
                if base == ".wh..wh..opq":
                    _drop(tree, parent, children_only=True)
                elif base.startswith(".wh."):
                    _drop(tree, posixpath.join(parent, base[4:]))
            for m in members:
                name = _norm(m.name)
                if not name or posixpath.basename(name).startswith(".wh."):
                    continue
                if m.islnk():
                    tree[name] = tree[_norm(m.linkname)]
                else:
                    tree[name] = _record(tar, m)
    for name in list(tree):
        parent = posixpath.dirname(name)
        while parent and parent not in tree:
            tree[parent] = IMPLICIT_DIR
            parent = posixpath.dirname(parent)
    return tree


def read_oci_layout(layout: Path, tag: str) -> tuple[dict[str, Any], list[Path]]:
    """The config and layer blobs of the manifest tagged ``tag`` in an OCI layout."""
    index = json.loads((layout / "index.json").read_text())
    (desc,) = [
        m
        for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]

    def blob(digest: str) -> Path:
        algo, _, hexd = digest.partition(":")
        return layout / "blobs" / algo / hexd

    manifest = json.loads(blob(desc["digest"]).read_text())
    config = json.loads(blob(manifest["config"]["digest"]).read_text())
    return config, [blob(d["digest"]) for d in manifest["layers"]]


def read_dir_transport(path: Path) -> tuple[dict[str, Any], list[Path]]:
    """The config and layer blobs of an image written by ``buildah push IMG dir:PATH``."""
    manifest = json.loads((path / "manifest.json").read_text())
    config = json.loads((path / manifest["config"]["digest"].partition(":")[2]).read_text())
    return config, [path / d["digest"].partition(":")[2] for d in manifest["layers"]]


def tree_diff(mine: dict[str, Record], theirs: dict[str, Record]) -> list[str]:
    """Readable differences, ``path: shipway … != buildah …``, sorted by path."""
    out = []
    for name in sorted(set(mine) | set(theirs)):
        a, b = mine.get(name), theirs.get(name)
        if a != b:
            out.append(f"/{name}: shipway {_show(a)} != buildah {_show(b)}")
    return out


def _show(r: Record | None) -> str:
    if r is None:
        return "(absent)"
    kind, mode, uid, gid, extra = r
    return f"{kind} {mode:04o} {uid}:{gid} {extra[:16] if kind == 'file' else extra}"
