"""Cataloguers: one module per package database, each ``parse(path, data) -> [Package]``.

Pure: each takes a file's path (no leading slash) and bytes and returns the
packages it lists, with ``purl`` and ``layer`` left empty (the walker fills
them in once it knows the image's OS and the file's layer). ``for_path`` says
which cataloguer reads a path; Go binaries are recognised by content instead.
"""

from __future__ import annotations

from collections.abc import Callable

from shipway.security.sbom.catalogers import apk, dpkg, npm, python
from shipway.security.sbom.model import Package

Parser = Callable[[str, bytes], list[Package]]


def for_path(path: str) -> Parser | None:
    """The cataloguer that reads ``path``, or None."""
    parsers: tuple[tuple[Callable[[str], bool], Parser], ...] = (
        (dpkg.matches, dpkg.parse),
        (apk.matches, apk.parse),
        (python.matches, python.parse),
        (npm.matches, npm.parse),
    )
    for matches, parse in parsers:
        if matches(path):
            return parse
    return None
