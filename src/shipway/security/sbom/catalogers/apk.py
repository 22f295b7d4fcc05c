"""apk's installed database: ``lib/apk/db/installed``.

Pure. Blank-line separated records of ``X:value`` lines: ``P`` name, ``V``
version, ``A`` arch, ``o`` origin (the source package), ``L`` license.
"""

from __future__ import annotations

from shipway.security.sbom.model import Package

INSTALLED = "lib/apk/db/installed"


def matches(path: str) -> bool:
    return path == INSTALLED


def parse(path: str, data: bytes) -> list[Package]:
    found: list[Package] = []
    for block in data.decode("utf-8", "replace").split("\n\n"):
        rec: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 1 and line[1] == ":" and line[0] not in rec:
                rec[line[0]] = line[2:]
        if not rec.get("P") or not rec.get("V"):
            continue
        lic = rec.get("L", "")
        found.append(
            Package(
                name=rec["P"],
                version=rec["V"],
                type="apk",
                purl="",
                path=path,
                layer="",
                cataloger="apk-db",
                source_name=rec.get("o", ""),
                arch=rec.get("A", ""),
                licenses=tuple(lic.split()) if lic else (),
            )
        )
    return found
