"""Whose files a build makes: ``USER`` and ``--chown`` resolved against the image's own files.

``user:group``, ``uid:gid``, a name or a number alone: names are looked up in
the image's ``/etc/passwd`` and ``/etc/group`` (a name with no group takes its
passwd entry's primary group), as Docker and BuildKit do; a name the image does
not know is an ``InputError`` at the instruction. ``root`` unpacks the image's
filesystem, called only when a name (or a ``USER`` uid's group) needs looking
up. Reads those two files; touches nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shipway.images.build import rootfs
from shipway.model.errors import InputError

Root = Callable[[], Path]


def resolve(spec: str, root: Root, where: str, what: str, *, gid_of_uid: bool) -> tuple[int, int]:
    """The uid and gid ``spec`` names. A bare uid's gid is its passwd entry's (``USER``:
    ``gid_of_uid``, 0 when it has none) or the uid itself (``--chown``)."""
    u, _, g = spec.partition(":")
    uid = int(u) if u.isdigit() else lookup(root, "etc/passwd", u, where, what)
    if g:
        gid = int(g) if g.isdigit() else lookup(root, "etc/group", g, where, what)
    elif not u.isdigit():
        gid = lookup(root, "etc/passwd", u, where, what, field=3)
    else:
        gid = _primary_gid(root, uid, where) if gid_of_uid else uid
    return uid, gid


def lookup(root: Root, file: str, name: str, where: str, what: str, field: int = 2) -> int:
    """The numeric ``field`` of ``name``'s entry in ``/<file>`` of the image."""
    path = rootfs.scoped(root(), file, where)
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in lines:
        parts = line.split(":")
        if len(parts) > field and parts[0] == name and parts[field].isdigit():
            return int(parts[field])
    raise InputError(f"{what}: no {name!r} in /{file} of the image", subject=where)


def _primary_gid(root: Root, uid: int, where: str) -> int:
    path = rootfs.scoped(root(), "etc/passwd", where)
    for line in path.read_text().splitlines() if path.is_file() else []:
        parts = line.split(":")
        if len(parts) > 3 and parts[2] == str(uid) and parts[3].isdigit():
            return int(parts[3])
    return 0
