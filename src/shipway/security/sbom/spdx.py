"""SPDX 2.3 JSON of an SBOM, written with spdx-tools.

spdx-tools' validator is quadratic in the number of packages (40 s for a
thousand), so ``render`` validates only when asked; the tests validate what
it writes.

Pure but for the writer's text stream. The document DESCRIBES one package
for the image (its digest as version); the image CONTAINS each package,
which carries its purl as a PACKAGE-MANAGER external reference and its layer
and file in the comment field. The namespace is derived from the digest, so
the same image gives the same namespace.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from spdx_tools.spdx.model.actor import Actor, ActorType
from spdx_tools.spdx.model.document import CreationInfo, Document
from spdx_tools.spdx.model.package import ExternalPackageRef, ExternalPackageRefCategory
from spdx_tools.spdx.model.package import Package as SpdxPackage
from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from shipway import __version__
from shipway.security.sbom.model import Sbom

_ID_CHARS = re.compile(r"[^A-Za-z0-9.-]")


def _spdx_id(kind: str, index: int, name: str) -> str:
    return f"SPDXRef-{kind}-{index}-{_ID_CHARS.sub('-', name)[:60]}"


def _created(sbom: Sbom) -> datetime:
    try:
        return datetime.strptime(sbom.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.now(UTC).replace(microsecond=0)


def render(sbom: Sbom, *, validate: bool = False) -> str:
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=sbom.image,
        document_namespace=f"https://shipway.dev/spdx/{sbom.digest.replace(':', '-')}",
        creators=[Actor(ActorType.TOOL, f"shipway-{__version__}")],
        created=_created(sbom),
    )
    image_id = "SPDXRef-image"
    packages = [
        SpdxPackage(
            spdx_id=image_id,
            name=sbom.image,
            download_location=SpdxNoAssertion(),
            version=sbom.digest,
            files_analyzed=False,
            comment=f"layers: {' '.join(sbom.layers)}",
        )
    ]
    rels = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, image_id)]
    for i, pkg in enumerate(sbom.packages):
        pid = _spdx_id(pkg.type, i, pkg.name)
        packages.append(
            SpdxPackage(
                spdx_id=pid,
                name=pkg.name,
                download_location=SpdxNoAssertion(),
                version=pkg.version,
                files_analyzed=False,
                comment=f"layer {pkg.layer} file /{pkg.path} ({pkg.cataloger})",
                external_references=[
                    ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", pkg.purl)
                ],
            )
        )
        rels.append(Relationship(image_id, RelationshipType.CONTAINS, pid))
    doc = Document(creation_info=info, packages=packages, relationships=rels)
    stream = io.StringIO()
    write_document_to_stream(doc, stream, validate=validate)
    return stream.getvalue()
