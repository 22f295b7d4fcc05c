"""Go build information read from binaries by hand (no ``go`` program, no debug/buildinfo).

Pure. The linker writes a ``.go.buildinfo`` blob that starts with the 14-byte
magic ``\\xff Go buildinf:``, then a pointer size byte and a flags byte. With
flag bit 2 (Go 1.18 and later) the Go version and the module information
follow at offset 32 as two varint-prefixed strings. Older binaries store two
pointers instead (at 16 and 16+ptrsize) to Go string headers in the program's
memory: those are mapped back to file offsets through the ELF program headers.
The module information (``path``, ``mod``, ``dep``, ``=>`` lines) is wrapped in
16-byte sentinels, which are stripped.
"""

from __future__ import annotations

import struct

from shipway.security.sbom.model import Package

MAGIC = b"\xff Go buildinf:"
ELF = b"\x7fELF"


def looks_like_binary(head: bytes) -> bool:
    return head.startswith(ELF)


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            break
    raise ValueError("bad varint")


def _elf_segments(data: bytes) -> tuple[str, list[tuple[int, int, int]]]:
    """``(byte order, [(vaddr, offset, filesz)])`` of the PT_LOAD segments."""
    if not data.startswith(ELF) or len(data) < 64:
        return "<", []
    is64, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
    segs: list[tuple[int, int, int]] = []
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + phentsize > len(data):
            break
        if is64:
            ptype, _, off, vaddr, _, filesz = struct.unpack_from(order + "IIQQQQ", data, at)
        else:
            ptype, off, vaddr, _, filesz = struct.unpack_from(order + "IIIII", data, at)
        if ptype == 1:
            segs.append((vaddr, off, filesz))
    return order, segs


def _read_va(data: bytes, segs: list[tuple[int, int, int]], va: int, size: int) -> bytes:
    for vaddr, off, filesz in segs:
        if vaddr <= va and va + size <= vaddr + filesz:
            start = off + (va - vaddr)
            return data[start : start + size]
    raise ValueError("address outside the file")


def _pointer_strings(data: bytes, at: int) -> tuple[str, str]:
    ptr_size, flags = data[at + 14], data[at + 15]
    order, segs = _elf_segments(data)
    order = ">" if flags & 1 else order
    fmt = order + ("Q" if ptr_size == 8 else "I")

    def go_string(ptr_at: int) -> str:
        (hdr,) = struct.unpack_from(fmt, data, ptr_at)
        raw = _read_va(data, segs, hdr, 2 * ptr_size)
        sptr, slen = struct.unpack_from(order + ("QQ" if ptr_size == 8 else "II"), raw, 0)
        return _read_va(data, segs, sptr, slen).decode("utf-8", "replace")

    return go_string(at + 16), go_string(at + 16 + ptr_size)


def read_buildinfo(data: bytes) -> tuple[str, str] | None:
    """``(go version, module info)`` of a Go binary, None when it has no build info."""
    first = at = data.find(MAGIC)
    while at >= 0 and at % 16:  # the blob is 16-byte aligned (in the file too, in practice)
        at = data.find(MAGIC, at + 1)
    at = first if at < 0 else at
    if at < 0 or at + 32 > len(data):
        return None
    try:
        if data[at + 15] & 2:
            pos = at + 32
            n, pos = _uvarint(data, pos)
            version = data[pos : pos + n].decode("utf-8", "replace")
            n, pos = _uvarint(data, pos + n)
            mod = data[pos : pos + n].decode("utf-8", "replace")
        else:
            version, mod = _pointer_strings(data, at)
    except (ValueError, struct.error, IndexError):
        return None
    if len(mod) >= 33 and mod[-17] == "\n":
        mod = mod[16:-16]
    return version, mod


def _pkg(path: str, name: str, version: str) -> Package:
    return Package(
        name=name, version=version, type="golang", purl="", path=path, layer="",
        cataloger="go-binary",
    )  # fmt: skip


def parse_modinfo(path: str, go_version: str, mod: str) -> list[Package]:
    """The main module, its dependencies (a ``=>`` replacement wins, as syft) and ``stdlib``."""
    found: list[Package] = []
    for line in mod.splitlines():
        f = line.split("\t")
        if f[0] in ("mod", "dep") and len(f) >= 3:
            found.append(_pkg(path, f[1], f[2]))
        elif f[0] == "=>" and len(f) >= 3 and found:
            found[-1] = _pkg(path, f[1], f[2])  # what was built (a local directory too)
    if go_version.startswith("go"):
        found.append(_pkg(path, "stdlib", go_version.removeprefix("go").split(" ")[0]))
    return found


def parse(path: str, data: bytes) -> list[Package]:
    info = read_buildinfo(data)
    if info is None:
        return []
    return parse_modinfo(path, *info)
