"""Version ordering per ecosystem: ``compare(ecosystem, a, b) -> int``.

Pure. Debian and Ubuntu use dpkg's exact ordering (``dpkg``), Alpine apk's
(``apk``), PyPI PEP 440 (``packaging``), npm and Go semantic versions
(``shipway.templates.semver``; Go's ``v`` prefix and pseudo-versions are
semver prereleases). A version the ecosystem's rules refuse raises
``VersionError``; the matcher then treats the range as not applying.
"""

from __future__ import annotations

from packaging.version import InvalidVersion
from packaging.version import Version as Pep440

from shipway.security.vuln.versions import apk, dpkg
from shipway.templates import semver


class VersionError(ValueError):
    pass


DPKG_ECOSYSTEMS = ("Debian", "Ubuntu")
APK_ECOSYSTEMS = ("Alpine", "Wolfi", "Chainguard")


def base(ecosystem: str) -> str:
    """``Debian:12`` → ``Debian``."""
    return ecosystem.partition(":")[0]


def _semver(a: str, b: str) -> int:
    try:
        return semver.compare(semver.parse_version(a), semver.parse_version(b))
    except semver.SemverError as exc:
        raise VersionError(str(exc)) from exc


def _pep440(a: str, b: str) -> int:
    try:
        va, vb = Pep440(a), Pep440(b)
    except InvalidVersion as exc:
        raise VersionError(str(exc)) from exc
    return (va > vb) - (va < vb)


def compare(ecosystem: str, a: str, b: str) -> int:
    eco = base(ecosystem)
    try:
        if eco in DPKG_ECOSYSTEMS:
            return dpkg.compare(a, b)
        if eco in APK_ECOSYSTEMS:
            return apk.compare(a, b)
    except ValueError as exc:
        raise VersionError(str(exc)) from exc
    if eco == "PyPI":
        return _pep440(a, b)
    if eco in ("npm", "Go", "crates.io"):
        return _semver(a, b)
    raise VersionError(f"no version ordering for ecosystem {ecosystem!r}")
