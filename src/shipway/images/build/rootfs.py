"""Layer tars unpacked safely: the checks and the extraction behind COPY --from and ADD.

``check_member`` refuses entries that would write outside the root: absolute
names, ``..`` components, hard links pointing outside, relative symlinks that
climb out of the root, and any write through a symlink. ``unpack_stack``
applies a layer stack (whiteouts included) into a directory, cached per chain
of diff_ids under ``<store>/rootfs`` (temp directory + rename, so an
interrupted unpack leaves nothing half-made). ``scoped`` resolves a path
inside such a root the way the container would see it.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from shipway.images.layout import Layout
from shipway.model.errors import InputError

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def _clean(name: str, where: str) -> str:
    if name.startswith("/"):
        raise InputError(f"tar entry {name!r} has an absolute path", subject=where)
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or "/../" in f"/{name}/":
        raise InputError(f"tar entry {name!r} climbs out of the root with ..", subject=where)
    return "" if norm == "." else norm


def check_member(m: tarfile.TarInfo, where: str) -> str:
    """The entry's clean relative name; InputError when it would escape the root."""
    name = _clean(m.name, where)
    if m.islnk():
        _clean(m.linkname, where)
    if m.issym() and not m.linkname.startswith("/"):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname))
        if target == ".." or target.startswith("../"):
            raise InputError(f"symlink {name!r} points outside the root", subject=where)
    return name


def _no_symlink_parents(root: Path, rel: str, where: str) -> Path:
    cur = root
    parts = rel.split("/")
    for part in parts[:-1]:
        cur = cur / part
        if cur.is_symlink():
            raise InputError(f"tar entry {rel!r} writes through a symlink", subject=where)
    return root / rel


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def unpack_tar(tar: tarfile.TarFile, root: Path, where: str, *, whiteouts: bool = True) -> None:
    """Unpack every member of ``tar`` under ``root`` after checking it."""
    for m in tar:
        rel = check_member(m, where)
        if not rel:
            continue
        base = posixpath.basename(rel)
        if whiteouts and base.startswith(WHITEOUT):
            parent = _no_symlink_parents(root, rel, where).parent
            if base == OPAQUE:
                for child in parent.iterdir() if parent.is_dir() else []:
                    _remove(child)
            else:
                _remove(parent / base[len(WHITEOUT) :])
            continue
        dest = _no_symlink_parents(root, rel, where)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if m.isdir():
            if dest.exists() and not dest.is_dir():
                _remove(dest)
            dest.mkdir(exist_ok=True)
            dest.chmod(m.mode & 0o7777)
            continue
        if dest.exists() or dest.is_symlink():
            _remove(dest)
        if m.issym():
            os.symlink(m.linkname, dest)
        elif m.islnk():
            os.link(_no_symlink_parents(root, _clean(m.linkname, where), where), dest)
        elif m.isreg():
            src = tar.extractfile(m)
            assert src is not None
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                shutil.copyfileobj(src, fh)
            os.chmod(dest, m.mode & 0o7777)
        # devices and fifos are not needed to copy files out of a stage


def chain_id(diff_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(diff_ids).encode()).hexdigest()


def unpack_stack(
    layout: Layout, layers: list[dict[str, Any]], diff_ids: list[str], cache_root: Path, where: str
) -> Path:
    """The root filesystem of a layer stack, unpacked once and reused."""
    final = cache_root / chain_id(diff_ids)
    if final.is_dir():
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_root, prefix=".tmp-"))
    try:
        for desc in layers:
            with tarfile.open(layout.path(desc["digest"]), mode="r:*") as tar:
                unpack_tar(tar, tmp, f"{where} (layer {desc['digest'][:19]})")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def scoped(root: Path, rel: str, where: str, hops: int = 40) -> Path:
    """Resolve ``rel`` inside ``root`` following symlinks as the container would."""
    parts = [p for p in rel.split("/") if p and p != "."]
    cur: list[str] = []
    while parts:
        part = parts.pop(0)
        if part == "..":
            if cur:
                cur.pop()
            continue
        path = root.joinpath(*cur, part)
        if path.is_symlink():
            hops -= 1
            if hops < 0:
                raise InputError(f"too many symlinks resolving {rel!r}", subject=where)
            target = os.readlink(path)
            if target.startswith("/"):
                cur = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
            continue
        cur.append(part)
    return root.joinpath(*cur)


def is_archive(path: Path) -> bool:
    """True for a local tar archive (plain, gzip, bzip2, xz) that ADD unpacks."""
    if not path.is_file() or not stat.S_ISREG(path.stat().st_mode):
        return False
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _listing(layout: Layout, digest: str) -> tuple[set[str], list[str], list[str]]:
    """A layer's paths, the paths its whiteouts remove, the directories it makes opaque."""
    names: set[str] = set()
    removed: list[str] = []
    opaque: list[str] = []
    with tarfile.open(layout.path(digest), mode="r:*") as tar:
        for m in tar:
            name = posixpath.normpath("/" + m.name).lstrip("/")
            base, parent = posixpath.basename(name), posixpath.dirname(name)
            if base == ".wh..wh..opq":
                opaque.append(parent)
            elif base.startswith(".wh."):
                removed.append(posixpath.join(parent, base[4:]))
            elif name:
                names.add(name)
    return names, removed, opaque


def stack_paths(
    layout: Layout, layers: list[dict[str, Any]], memo: dict[tuple[str, ...], frozenset[str]]
) -> frozenset[str]:
    """Every path in the stack's file tree (whiteouts applied), from the layers' listings.

    ``memo`` keeps each prefix of the stack, so a build lists every layer once.
    """
    key = tuple(str(d["digest"]) for d in layers)
    if key in memo:
        return memo[key]
    if not key:
        return frozenset()
    below = set(stack_paths(layout, layers[:-1], memo))
    names, removed, opaque = _listing(layout, key[-1])
    for gone in removed:
        below = {p for p in below if p != gone and not p.startswith(gone + "/")}
    for parent in opaque:
        below = {p for p in below if not p.startswith(parent + "/")}
    memo[key] = frozenset(below | names)
    return memo[key]
