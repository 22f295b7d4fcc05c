"""SBOMs: what packages an image holds, with purls and the layer each came from.

``sbom_for(image) -> Sbom`` (``image``: ``oci:DIR[:TAG]``, a name in shipway's
store, or a registry reference) is the stable entry point the signer, the
policy gates and the CLI use; ``cyclonedx.render`` and ``spdx.render`` turn an
``Sbom`` into CycloneDX 1.6 or SPDX 2.3 JSON. Modules: ``model`` (data),
``catalogers`` (one per package database, pure), ``walk`` (layers with
whiteouts), ``purls``, ``image`` (the adapter over ``shipway.images``).
"""

from __future__ import annotations

from shipway.security.sbom.image import record_build, sbom_for
from shipway.security.sbom.model import Distro, Package, Sbom

__all__ = ["Distro", "Package", "Sbom", "record_build", "sbom_for"]
