"""dpkg's database: ``var/lib/dpkg/status`` and distroless ``var/lib/dpkg/status.d/*``.

Pure. Paragraphs of RFC 822-style fields; a package counts when its Status
ends in ``installed`` (status.d files have no Status: every entry counts).
"""

from __future__ import annotations

from shipway.security.sbom.model import Package

STATUS = "var/lib/dpkg/status"
STATUS_D = "var/lib/dpkg/status.d/"


def matches(path: str) -> bool:
    if path == STATUS:
        return True
    if path.startswith(STATUS_D):
        rest = path[len(STATUS_D) :]
        return "/" not in rest and not rest.endswith((".md5sums", ".list")) and bool(rest)
    return False


def paragraphs(text: str) -> list[dict[str, str]]:
    """Control paragraphs as dicts (continuation lines joined with newlines)."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
            cur, key = {}, ""
        elif line[0] in " \t":
            if key:
                cur[key] += "\n" + line.strip()
        else:
            k, _, v = line.partition(":")
            key = k.strip()
            cur[key] = v.strip()
    if cur:
        out.append(cur)
    return out


def parse(path: str, data: bytes) -> list[Package]:
    found: list[Package] = []
    for para in paragraphs(data.decode("utf-8", "replace")):
        name, version = para.get("Package", ""), para.get("Version", "")
        if not name or not version:
            continue
        status = para.get("Status")
        if status is not None and not status.endswith(" installed"):
            continue
        source = para.get("Source", "")
        src_name, _, src_ver = source.partition(" ")
        found.append(
            Package(
                name=name,
                version=version,
                type="deb",
                purl="",
                path=path,
                layer="",
                cataloger="dpkg-status",
                source_name=src_name,
                source_version=src_ver.strip("()") if src_ver else "",
                arch=para.get("Architecture", ""),
            )
        )
    return found
