"""CycloneDX 1.6 JSON of an SBOM, written with cyclonedx-python-lib.

Pure. The image is ``metadata.component`` (type container, version its
digest); each package a component with its purl, a ``bom-ref`` that is the
purl plus its path (the same package can sit in two places), its licenses,
and properties naming its file, layer and cataloguer (``shipway:location``,
``shipway:layer``, ``shipway:cataloger``). OS packages depend on the
operating-system component made from os-release. The same SBOM renders to
the same bytes: the serial number is derived from the image digest and the
timestamp is the SBOM's own (kept with it), so its digest can be recorded.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import License
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from shipway import __version__
from shipway.security.sbom.model import Package, Sbom


def _created(sbom: Sbom) -> datetime:
    try:
        return datetime.strptime(sbom.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def _licenses(pkg: Package) -> list[License]:
    factory = LicenseFactory()
    out: list[License] = []
    for text in pkg.licenses:
        try:
            out.append(factory.make_from_string(text))
        except ValueError:
            continue
    return out


def _component(pkg: Package, index: int) -> Component:
    return Component(
        name=pkg.name,
        version=pkg.version,
        type=ComponentType.LIBRARY,
        bom_ref=f"{pkg.purl}#{index}",
        purl=PackageURL.from_string(pkg.purl),
        licenses=_licenses(pkg),
        properties=[
            Property(name="shipway:cataloger", value=pkg.cataloger),
            Property(name="shipway:layer", value=pkg.layer),
            Property(name="shipway:location", value="/" + pkg.path),
        ],
    )


def _indexed_dependencies(bom: Bom) -> None:
    """Make ``bom.register_dependency`` a dict lookup.

    The library finds a target's entry by scanning every dependency, and its
    output step registers every component again: quadratic, 10 s for a
    thousand packages. This does the same registration with an index.
    """
    index: dict[str, Dependency] = {}

    def register(target: Any, depends_on: Iterable[Any] | None = None) -> None:
        ref = str(target.bom_ref)
        found = index.get(ref)
        deps = list(depends_on or ())
        if found is None:
            found = index[ref] = Dependency(ref=target.bom_ref)
            bom.dependencies.add(found)
        if deps:
            found.dependencies.update(Dependency(ref=d.bom_ref) for d in deps)
            for d in deps:
                register(d)

    bom.register_dependency = register  # type: ignore[method-assign]


def render(sbom: Sbom) -> str:
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"shipway:sbom:{sbom.digest}"),
        metadata=BomMetaData(timestamp=_created(sbom)),
    )
    _indexed_dependencies(bom)
    bom.metadata.tools.components.add(
        Component(name="shipway", version=__version__, type=ComponentType.APPLICATION)
    )
    bom.metadata.component = root = Component(
        name=sbom.image,
        version=sbom.digest,
        type=ComponentType.CONTAINER,
        bom_ref=f"image:{sbom.digest}",
    )
    os_comp = None
    if sbom.distro.id:
        os_comp = Component(
            name=sbom.distro.id,
            version=sbom.distro.version_id or None,
            type=ComponentType.OPERATING_SYSTEM,
            bom_ref=f"os:{sbom.distro.id}-{sbom.distro.version_id}",
            description=sbom.distro.pretty_name or None,
        )
        bom.components.add(os_comp)
    comps = [_component(pkg, i) for i, pkg in enumerate(sbom.packages)]
    bom.components.update(comps)
    if os_comp is not None:  # one call each: register_dependency searches what is there
        os_pkgs = [c for c, p in zip(comps, sbom.packages, strict=True) if p.type in ("deb", "apk")]
        bom.register_dependency(os_comp, os_pkgs)
    bom.register_dependency(root, [*([os_comp] if os_comp else []), *comps])
    return JsonV1Dot6(bom).output_as_string(indent=2)


def digest(sbom: Sbom) -> str:
    """``sha256:…`` of the CycloneDX rendering (stable: what a release record names)."""
    return "sha256:" + hashlib.sha256(render(sbom).encode()).hexdigest()
