"""Reading the files that ``-f`` names: YAML/JSON files as given, directories listed.

No store and no engines here, so every command that takes ``-f`` can use it cheaply.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shipway.model import namespaces
from shipway.model import resources as model
from shipway.model.errors import InputError
from shipway.runtime.textfiles import read_text

_SUFFIXES = (".yaml", ".yml", ".json")


def yaml_files(paths: tuple[str, ...], recursive: bool) -> list[Path]:
    """The YAML/JSON files that ``-f`` names: files as given, directories listed."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            pattern = "**/*" if recursive else "*"
            found += sorted(f for f in p.glob(pattern) if f.suffix in _SUFFIXES and f.is_file())
        elif p.is_file() or str(p) == "-":
            found.append(p)
        else:
            raise InputError("no such file or directory", subject=str(p))
    return found


def load_paths(
    paths: tuple[str, ...],
    recursive: bool = False,
    namespace: str | None = None,
    current: str = namespaces.DEFAULT,
) -> list[model.Resource]:
    """Parse every resource under ``paths``; any error refuses the whole set.

    ``namespace`` (``-n``) and ``current`` as ``shipway.model.resources.parse_text``.
    """
    out: list[model.Resource] = []
    for f in yaml_files(paths, recursive):
        text = sys.stdin.read() if str(f) == "-" else read_text(f)
        out += model.parse_text(text, str(f), namespace, current)
    model.check_unique(out)
    return out
