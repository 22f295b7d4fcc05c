"""Package URLs for catalogued packages (packageurl-python), given the image's OS.

Pure. deb and apk packages take the OS id as namespace (``debian``,
``alpine`` when the image has no os-release) and ``arch``, ``upstream`` and
``distro`` qualifiers as syft writes them; PyPI names are normalised as
PEP 503 says (``ruamel.yaml`` is ``ruamel-yaml``, as syft writes it); npm
scopes and Go module paths split into namespace and name.
"""

from __future__ import annotations

import re
from dataclasses import replace

from packageurl import PackageURL

from shipway.security.sbom.model import Distro, Package

_PEP503 = re.compile(r"[-_.]+")


def _qualifiers(pkg: Package, distro: Distro) -> dict[str, str]:
    q: dict[str, str] = {}
    if pkg.arch:
        q["arch"] = pkg.arch
    if pkg.source_name and (pkg.source_name != pkg.name or pkg.source_version):
        v = pkg.source_version
        q["upstream"] = f"{pkg.source_name}@{v}" if v else pkg.source_name
    if distro.id:
        q["distro"] = f"{distro.id}-{distro.version_id}" if distro.version_id else distro.id
    return q


def purl_for(pkg: Package, distro: Distro) -> str:
    if pkg.type in ("deb", "apk"):
        ns = distro.id or ("debian" if pkg.type == "deb" else "alpine")
        return PackageURL(pkg.type, ns, pkg.name, pkg.version, _qualifiers(pkg, distro)).to_string()
    if pkg.type == "pypi":
        name = _PEP503.sub("-", pkg.name).lower()
        return PackageURL("pypi", None, name, pkg.version).to_string()
    if pkg.type == "npm":
        scope, _, name = pkg.name.rpartition("/")
        return PackageURL("npm", scope or None, name, pkg.version).to_string()
    if pkg.type == "golang":
        ns, _, name = pkg.name.rpartition("/")
        return PackageURL("golang", ns or None, name, pkg.version).to_string()
    return PackageURL(pkg.type, None, pkg.name, pkg.version).to_string()


def with_purls(packages: list[Package], distro: Distro) -> list[Package]:
    return [replace(p, purl=purl_for(p, distro)) for p in packages]
