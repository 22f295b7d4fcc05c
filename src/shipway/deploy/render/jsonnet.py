"""Jsonnet files of a directory source, evaluated as Argo CD does. Pure: no I/O.

Argo CD's ``directory.jsonnet`` options are honoured: ``extVars`` and
``tlas`` (each ``{name, value, code}``) and ``libs`` (library directories,
relative to the repository root). Imports are resolved through the ``read``
function the caller passes (repository path → text, or None), so evaluation
itself touches nothing. A file may yield one object, a ``List`` or an array.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping
from typing import Any

import _jsonnet

from shipway.model.errors import InputError

Reader = Callable[[str], str | None]


def _vars(entries: Any) -> tuple[dict[str, str], dict[str, str]]:
    plain: dict[str, str] = {}
    code: dict[str, str] = {}
    for entry in entries or []:
        target = code if entry.get("code") else plain
        target[str(entry["name"])] = str(entry.get("value", ""))
    return plain, code


def evaluate(text: str, file: str, options: Mapping[str, Any], read: Reader) -> list[Any]:
    """Evaluate ``file`` (a repository path) and return its manifests."""
    ext_vars, ext_codes = _vars(options.get("extVars"))
    tla_vars, tla_codes = _vars(options.get("tlas"))
    libs = [str(lib).strip("/") for lib in options.get("libs") or []]

    def resolve(base: str, rel: str) -> tuple[str, bytes]:
        for directory in [base, *libs]:
            candidate = posixpath.normpath(posixpath.join(directory, rel))
            found = read(candidate)
            if found is not None:
                return candidate, found.encode()
        raise RuntimeError(f"cannot import {rel!r} (looked in {base or '.'} and libs)")

    try:
        out = _jsonnet.evaluate_snippet(
            file, text, ext_vars=ext_vars, ext_codes=ext_codes, tla_vars=tla_vars,
            tla_codes=tla_codes, import_callback=resolve,
        )  # fmt: skip
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation failed"
        raise InputError(f"jsonnet: {reason}", subject=file) from None
    value = json.loads(out)
    items = value if isinstance(value, list) else [value]
    manifests: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            raise InputError("jsonnet output must be objects", subject=file)
        if str(item.get("kind", "")).endswith("List") and isinstance(item.get("items"), list):
            manifests += [i for i in item["items"] if isinstance(i, dict)]
        else:
            manifests.append(item)
    return manifests
