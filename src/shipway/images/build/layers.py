"""Deterministic layer tars from build-context files.

``collect`` turns COPY sources into sorted tar entries, refusing a source
outside the context or reached through a symlink that escapes it (symlinks
*inside* a copied directory are kept as links). ``stat_key`` fingerprints the
entries from ``lstat`` alone (the cache's fast path); ``tar_digest`` hashes the
uncompressed tar (the diff_id); ``write_layer`` writes the gzip blob into the
layout. Every entry gets the same mtime (SOURCE_DATE_EPOCH, else 0), owner
0:0 unless ``--chown``, no user/group names. Touches only the context (read)
and the layout (write).
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shipway.images.build.pgzip import ParallelGzip
from shipway.images.layout import Layout
from shipway.model.errors import InputError

GZIP_LEVEL = 6
Ignore = Callable[[str], bool]


@dataclass(frozen=True)
class Entry:
    name: str  # path inside the image, no leading slash
    src: Path | None  # None: a directory made for the destination
    st: os.stat_result | None


@dataclass(frozen=True)
class Owner:
    uid: int = 0
    gid: int = 0
    chmod: int | None = None
    mtime: int = 0


@dataclass(frozen=True)
class Layer:
    digest: str
    diff_id: str
    size: int


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def resolve_sources(context: Path, sources: list[str], where: str) -> list[Path]:
    """Expand globs and check every source stays inside the context."""
    root = os.path.realpath(context)
    out: list[Path] = []
    for src in sources:
        norm = os.path.normpath(src.lstrip("/")) if src not in ("/", ".") else "."
        if norm == ".." or norm.startswith("../"):
            raise InputError(f"COPY source {src!r} is outside the build context", subject=where)
        if glob.has_magic(norm):
            matches = sorted(glob.glob(norm, root_dir=root, include_hidden=True))
            if not matches:
                raise InputError(f"no source files match {src!r}", subject=where)
        else:
            matches = [norm]
        for rel in matches:
            full = os.path.join(root, rel)
            if not os.path.lexists(full):
                raise InputError(f"COPY source {src!r} not found in the context", subject=where)
            if not _inside(root, os.path.realpath(full)):
                raise InputError(
                    f"COPY source {src!r} is a symlink escaping the context", subject=where
                )
            out.append(Path(full))
    return out


def check_source(root: str, path: str, ignore: Ignore | None, where: str) -> None:
    """Refuse ``path`` when it, or where its symlinks lead, is ignored or inside ``.git``.

    ``.dockerignore`` applies to a link's target too: a symlink in the context
    that points at an ignored file (or into ``.git``) never brings that file in.
    """
    lexical = os.path.relpath(path, root)
    real_path = os.path.realpath(path)
    if not _inside(root, real_path):
        return  # a link out of the context: copied as a link, or refused by resolve_sources
    real = os.path.relpath(real_path, root)
    for rel in dict.fromkeys((lexical, real)):
        if ignore is not None and rel != "." and ignore(rel):
            shown = lexical if rel == lexical else f"{lexical} (a symlink to {real})"
            raise InputError(f"{shown!r} is excluded by .dockerignore", subject=where)
    if real != lexical and (real == ".git" or real.startswith(".git/")):
        raise InputError(f"{lexical!r} is a symlink into .git ({real})", subject=where)


def collect(
    context: Path,
    sources: list[Path],
    dest: str,
    dest_is_dir: bool,
    ignore: Ignore | None = None,
    where: str = "",
    *,
    context_links: bool = False,
) -> list[Entry]:
    """Tar entries for COPY ``sources`` to ``dest`` (absolute), sorted by name.

    ``ignore(rel)`` (context-relative path) drops files, as ``.dockerignore`` does;
    with ``context_links`` (copying from the build context), a symlink inside a
    copied directory whose target is ignored (or in ``.git``) is refused
    (``check_source``).
    """
    entries: dict[str, Entry] = {}
    dest = "/" + dest.strip("/")
    root = os.path.realpath(context)
    for src in sources:
        st = os.stat(src)  # the source itself is followed (Docker does)
        if stat.S_ISDIR(st.st_mode):
            _parents(entries, dest, include_self=True)
            _walk(entries, src, dest, root, ignore, where if context_links else None)
        else:
            target = f"{dest.rstrip('/')}/{src.name}" if dest_is_dir else dest
            _parents(entries, os.path.dirname(target), include_self=True)
            entries[target.lstrip("/")] = Entry(target.lstrip("/"), src, st)
    return [entries[k] for k in sorted(entries)]


def parent_names(path: str) -> list[str]:
    """``/a/b/c`` → ``["a", "a/b", "a/b/c"]``: the directories a destination needs."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _parents(entries: dict[str, Entry], path: str, include_self: bool) -> None:
    parts = [p for p in path.strip("/").split("/") if p]
    upto = len(parts) if include_self else len(parts) - 1
    for i in range(1, upto + 1):
        name = "/".join(parts[:i])
        entries.setdefault(name, Entry(name, None, None))


def _walk(
    entries: dict[str, Entry],
    src: Path,
    dest: str,
    root: str,
    ignore: Ignore | None,
    links_at: str | None,
) -> None:
    """Add the tree under ``src``; ``links_at``: check symlinks' targets, errors there."""
    base = dest.strip("/")
    real_src = os.path.realpath(src)  # a copied directory reached through a symlink
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src)
        prefix = base if rel == "." else (f"{base}/{rel}" if base else rel)
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            real_rel = os.path.relpath(os.path.join(real_src, rel, name), root)
            if ignore is not None and (ignore(os.path.relpath(full, root)) or ignore(real_rel)):
                continue
            st = os.lstat(full)
            if links_at is not None and stat.S_ISLNK(st.st_mode):
                check_source(root, full, ignore, links_at)
            if not (
                stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)
            ):
                continue  # sockets, fifos and devices are not copied
            key = f"{prefix}/{name}" if prefix else name
            entries[key] = Entry(key, Path(full), st)


def stat_key(entries: list[Entry], owner: Owner) -> str:
    """A fingerprint from metadata only: changes when any file's stat changes."""
    h = hashlib.sha256(repr(owner).encode())
    for e in entries:
        h.update(e.name.encode() + b"\0")
        if e.st is not None and e.src is not None:
            st = e.st
            link = os.readlink(e.src) if stat.S_ISLNK(st.st_mode) else ""
            h.update(
                f"{e.src}|{st.st_mode}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|"
                f"{st.st_ino}|{link}\n".encode()
            )
    return h.hexdigest()


def _tarinfo(e: Entry, owner: Owner) -> tuple[tarfile.TarInfo, Path | None]:
    ti = tarfile.TarInfo(e.name)
    ti.uid, ti.gid, ti.uname, ti.gname, ti.mtime = owner.uid, owner.gid, "", "", owner.mtime
    if e.src is None or e.st is None:
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        return ti, None
    mode = e.st.st_mode
    if stat.S_ISLNK(mode):
        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, os.readlink(e.src), 0o777
        return ti, None
    perm = owner.chmod if owner.chmod is not None else stat.S_IMODE(mode)
    if stat.S_ISDIR(mode):
        ti.type, ti.mode = tarfile.DIRTYPE, perm
        return ti, None
    ti.type, ti.mode, ti.size = tarfile.REGTYPE, perm, e.st.st_size
    return ti, e.src


def write_tar(entries: list[Entry], owner: Owner, out: IO[bytes]) -> None:
    """Write the deterministic tar stream of ``entries`` to ``out``."""
    # "w" (not the "w|" stream, which re-buffers in 10 KiB records) with 1 MiB copies:
    # the same bytes, several times faster.
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = 1 << 20  # type: ignore[attr-defined]  # not in the stubs
        for e in entries:
            ti, src = _tarinfo(e, owner)
            if src is None:
                tar.addfile(ti)
                continue
            with open(src, "rb") as fh:
                tar.addfile(ti, fh)


class _HashSink(io.RawIOBase):
    def __init__(self, then: IO[bytes] | None = None) -> None:
        self.hash = hashlib.sha256()
        self.then = then
        self.written = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.written

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.written += len(b)
        self.hash.update(b)
        if self.then is not None:
            self.then.write(b)
        return len(b)


def tar_digest(entries: list[Entry], owner: Owner) -> str:
    """The diff_id: sha256 of the uncompressed tar, without compressing."""
    sink = _HashSink()
    write_tar(entries, owner, sink)  # type: ignore[arg-type]
    return "sha256:" + sink.hash.hexdigest()


def write_layer(
    entries: list[Entry], owner: Owner, layout: Layout, level: int = GZIP_LEVEL
) -> Layer:
    """Write the gzip layer into ``layout``; returns its digest, diff_id and size.

    Compression runs on several cores (``pgzip``) and is deterministic.
    """
    with layout.writer() as blob:
        fobj: IO[bytes] = blob  # type: ignore[assignment]
        with ParallelGzip(fobj, level) as gz:
            sink = _HashSink(gz)  # type: ignore[arg-type]
            write_tar(entries, owner, sink)  # type: ignore[arg-type]
        size = blob.size
        digest = blob.commit()
    return Layer(digest, "sha256:" + sink.hash.hexdigest(), size)
