"""The SBOM as shipway's own data: packages with purls and the layer each came from.

Pure: dataclasses and their JSON form (what the store keeps next to an image);
``cyclonedx`` and ``spdx`` render it in the standard formats.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# package types (purl types): deb, apk, pypi, npm, golang
OS_TYPES = ("deb", "apk")


@dataclass(frozen=True, slots=True)
class Package:
    """One package found in an image."""

    name: str
    version: str
    type: str  # the purl type: deb, apk, pypi, npm, golang
    purl: str
    path: str  # the file it was read from (no leading slash)
    layer: str  # digest of the layer that file came from
    cataloger: str  # dpkg-status, apk-db, python-dist-info, npm-package, npm-lock, go-binary
    source_name: str = ""  # dpkg Source / apk origin (the name OS advisories use)
    source_version: str = ""
    arch: str = ""
    licenses: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["licenses"] = list(self.licenses)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Package:
        return cls(**{**d, "licenses": tuple(d.get("licenses") or ())})


@dataclass(frozen=True, slots=True)
class Distro:
    """The image's OS from ``/etc/os-release`` (empty when there is none)."""

    id: str = ""
    version_id: str = ""
    pretty_name: str = ""


@dataclass
class Sbom:
    """What an image contains: its name and digest, its OS, its packages."""

    image: str
    digest: str  # the image manifest digest
    layers: list[str]
    distro: Distro = field(default_factory=Distro)
    packages: list[Package] = field(default_factory=list)
    created: str = ""  # RFC 3339 UTC, when this SBOM was made

    def as_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "layers": list(self.layers),
            "distro": asdict(self.distro),
            "created": self.created,
            "packages": [p.as_dict() for p in self.packages],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sbom:
        return cls(
            image=str(d["image"]),
            digest=str(d["digest"]),
            layers=[str(x) for x in d.get("layers", [])],
            distro=Distro(**(d.get("distro") or {})),
            packages=[Package.from_dict(p) for p in d.get("packages", [])],
            created=str(d.get("created", "")),
        )
