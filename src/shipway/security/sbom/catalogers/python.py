"""Installed Python distributions: ``*.dist-info/METADATA`` and ``*.egg-info`` (PKG-INFO).

Pure. The core metadata header (``Name``, ``Version``, ``License``) up to the
first blank line; an ``.egg-info`` is a directory with ``PKG-INFO`` or a file.
"""

from __future__ import annotations

from email.parser import HeaderParser

from shipway.security.sbom.model import Package


def matches(path: str) -> bool:
    parent, _, base = path.rpartition("/")
    if base == "METADATA":
        return parent.endswith(".dist-info")
    if base == "PKG-INFO":
        return parent.endswith(".egg-info")
    return base.endswith(".egg-info")


def parse(path: str, data: bytes) -> list[Package]:
    text = data.decode("utf-8", "replace")
    head = text.split("\n\n", 1)[0]
    msg = HeaderParser().parsestr(head)
    name, version = (msg.get("Name") or "").strip(), (msg.get("Version") or "").strip()
    if not name or not version:
        return []
    lic = (msg.get("License-Expression") or msg.get("License") or "").strip()
    licenses = (lic,) if lic and lic != "UNKNOWN" and "\n" not in lic and len(lic) < 100 else ()
    return [
        Package(
            name=name,
            version=version,
            type="pypi",
            purl="",
            path=path,
            layer="",
            cataloger="python-dist-info",
            licenses=licenses,
        )
    ]
