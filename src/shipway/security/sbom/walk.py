"""Walk an image's layers in order, whiteouts applied, and run the cataloguers.

Pure over file objects: ``walk([(layer digest, opener)])`` reads each layer
tar (gzip, zstd-less: gzip or plain) as a stream once. A file an upper layer
rewrites replaces the lower one; ``.wh.NAME`` deletes ``NAME`` (and all under
it) from the layers below, and ``.wh..wh..opq`` hides everything below in
its directory. Only files a cataloguer reads are kept (as their packages),
so memory stays small; Go binaries are found by their ELF header (any file
with an execute bit) and their build info parsed on the spot.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import IO

from shipway.security.sbom import catalogers
from shipway.security.sbom.catalogers import golang
from shipway.security.sbom.model import Distro, Package

OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
GO_MIN_SIZE = 4096
GO_MAX_SIZE = 512 << 20
DB_MAX_SIZE = 128 << 20  # a package database larger than this is skipped
Opener = Callable[[], IO[bytes]]


@dataclass
class WalkResult:
    packages: list[Package] = field(default_factory=list)
    distro: Distro = field(default_factory=Distro)


def _norm(name: str) -> str:
    while name.startswith(("./", "/")):
        name = name[1:] if name.startswith("/") else name[2:]
    return "" if name == "." else name.rstrip("/")


def parse_os_release(data: bytes) -> Distro:
    values: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        k, eq, v = line.strip().partition("=")
        if eq and not k.startswith("#"):
            values[k] = v.strip().strip("\"'")
    return Distro(values.get("ID", ""), values.get("VERSION_ID", ""), values.get("PRETTY_NAME", ""))


class _Layer:
    """What one layer adds, replaces and deletes."""

    def __init__(self) -> None:
        self.files: dict[str, list[Package]] = {}
        self.replaced: set[str] = set()
        self.deleted: list[str] = []
        self.opaque: list[str] = []
        self.os_release: dict[str, bytes] = {}


def _read_layer(fh: IO[bytes], digest: str) -> _Layer:
    layer = _Layer()
    with tarfile.open(fileobj=fh, mode="r|*") as tf:
        for member in tf:
            path = _norm(member.name)
            if not path:
                continue
            parent, _, base = path.rpartition("/")
            if base == ".wh..wh..opq":
                layer.opaque.append(parent)
                continue
            if base.startswith(".wh."):
                layer.deleted.append(f"{parent}/{base[4:]}" if parent else base[4:])
                continue
            if member.isdir():
                continue
            layer.replaced.add(path)
            if not member.isfile():
                continue
            found = _catalog(tf, member, path, digest, layer)
            if found is not None:
                layer.files[path] = found
    return layer


def _catalog(
    tf: tarfile.TarFile, member: tarfile.TarInfo, path: str, digest: str, layer: _Layer
) -> list[Package] | None:
    parser = catalogers.for_path(path)
    is_exec = member.mode & 0o111 and GO_MIN_SIZE <= member.size <= GO_MAX_SIZE
    if parser is None and not is_exec and path not in OS_RELEASE:
        return None
    if parser is not None and member.size > DB_MAX_SIZE:
        return None
    fh = tf.extractfile(member)
    if fh is None:
        return None
    if path in OS_RELEASE:
        layer.os_release[path] = fh.read()
        return None
    if parser is None:
        if not golang.looks_like_binary(fh.read(4)):
            return None
        parser = golang.parse
        data = b"\x7fELF" + fh.read()
    else:
        data = fh.read()
    return [replace(p, layer=digest) for p in parser(path, data)]


def _prefixes(path: str) -> list[str]:
    """``a/b/c`` → ``a``, ``a/b``, ``a/b/c``."""
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _hidden(path: str, layer: _Layer, gone: set[str], opaque: set[str]) -> bool:
    """Whether ``layer`` deletes or replaces the lower ``path`` (or a directory above it)."""
    if "" in opaque:
        return True
    for i, prefix in enumerate(above := _prefixes(path)):
        if prefix in gone or prefix in layer.replaced:  # a file now where a directory was
            return True
        if prefix in opaque and i < len(above) - 1:
            return True
    return False


def walk(layers: Iterable[tuple[str, Opener]]) -> WalkResult:
    """The packages of the merged filesystem, each with its file's layer."""
    merged: dict[str, list[Package]] = {}
    os_release: dict[str, bytes] = {}
    for digest, opener in layers:
        with opener() as fh:
            layer = _read_layer(fh, digest)
        gone, opaque = set(layer.deleted), set(layer.opaque)
        for store in (merged, os_release):
            for key in [k for k in store if _hidden(k, layer, gone, opaque)]:
                del store[key]
        merged.update(layer.files)
        os_release.update(layer.os_release)
    distro = Distro()
    for name in OS_RELEASE:
        if name in os_release:
            distro = parse_os_release(os_release[name])
            break
    packages = [p for path in sorted(merged) for p in merged[path]]
    return WalkResult(_dedupe_locks(packages), distro)


def _dedupe_locks(packages: list[Package]) -> list[Package]:
    """Drop lock-file entries an installed package (same name and version) gives."""
    installed = {(p.name, p.version) for p in packages if p.cataloger == "npm-package"}
    seen: set[tuple[str, str]] = set()
    out = []
    for p in packages:
        if p.cataloger == "npm-lock":
            key = (p.name, p.version)
            if key in installed or key in seen:
                continue
            seen.add(key)
        out.append(p)
    return out
