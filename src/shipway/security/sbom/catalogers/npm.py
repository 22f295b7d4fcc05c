"""npm packages: ``package.json`` files and ``package-lock.json``/``yarn.lock``.

Pure. Every ``package.json`` with a name and a version is a package (those
under ``node_modules`` are the installed ones; an application's own one
counts too, as syft and Trivy count it). Lock files
outside ``node_modules`` list what an install would bring: ``package-lock.json``
(lockfileVersion 1's ``dependencies`` tree, 2 and 3's ``packages`` map) and
yarn v1's ``yarn.lock``. The walker drops a lock entry that an installed
``package.json`` in the same image already gives.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shipway.security.sbom.model import Package

_YARN_HEAD = re.compile(r'^"?(?P<name>@?[^@"\s]+)@')
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?(?P<v>[^"\s]+)"?')


def matches(path: str) -> bool:
    base = path.rpartition("/")[2]
    if base == "package.json":
        return True
    if base in ("package-lock.json", "yarn.lock"):
        return "node_modules/" not in path
    return False


def _pkg(name: str, version: str, path: str, cataloger: str, licenses: tuple[str, ...]) -> Package:
    return Package(
        name=name,
        version=version,
        type="npm",
        purl="",
        path=path,
        layer="",
        cataloger=cataloger,
        licenses=licenses,
    )


def _license(doc: dict[str, Any]) -> tuple[str, ...]:
    lic = doc.get("license")
    if isinstance(lic, str) and lic:
        return (lic,)
    if isinstance(lic, dict) and isinstance(lic.get("type"), str):
        return (lic["type"],)
    return ()


def parse(path: str, data: bytes) -> list[Package]:
    base = path.rpartition("/")[2]
    if base == "yarn.lock":
        return _yarn(path, data.decode("utf-8", "replace"))
    try:
        doc = json.loads(data)
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    if base == "package.json":
        name, version = doc.get("name"), doc.get("version")
        if isinstance(name, str) and isinstance(version, str) and name and version:
            return [_pkg(name, version, path, "npm-package", _license(doc))]
        return []
    return _lock(path, doc)


def _lock(path: str, doc: dict[str, Any]) -> list[Package]:
    out: list[Package] = []
    packages = doc.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, entry in packages.items():
            if not key or not isinstance(entry, dict) or entry.get("link"):
                continue
            name = entry.get("name") or key.rpartition("node_modules/")[2]
            version = entry.get("version")
            if isinstance(name, str) and isinstance(version, str) and "node_modules/" in key:
                out.append(_pkg(name, version, path, "npm-lock", _license(entry)))
        return out

    def walk(deps: Any) -> None:  # lockfileVersion 1
        if not isinstance(deps, dict):
            return
        for name, entry in deps.items():
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                out.append(_pkg(name, entry["version"], path, "npm-lock", ()))
                walk(entry.get("dependencies"))

    walk(doc.get("dependencies"))
    return out


def _yarn(path: str, text: str) -> list[Package]:
    out: list[Package] = []
    name = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line[0].isspace():
            m = _YARN_HEAD.match(line)
            name = m.group("name") if m else ""
            continue
        m = _YARN_VERSION.match(line)
        if name and m:
            out.append(_pkg(name, m.group("v"), path, "npm-lock", ()))
            name = ""
    return out
