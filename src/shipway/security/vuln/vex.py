"""OpenVEX documents (openvex.dev spec v0.2.0, and v0.0.1's string forms).

Pure. A statement names a vulnerability (``name`` and ``aliases``, or a
string), products (``@id`` purls with optional ``subcomponents``, or
strings) and a ``status``. ``not_affected`` and ``fixed`` suppress the
matching findings; ``affected`` and ``under_investigation`` do not. A
product matches a finding when its purl is the package's (a purl without a
version covers every version), or when it names the image and either has
no subcomponents or one of them is the package. A ``pkg:oci/NAME@DIGEST``
product names the image of that digest; ``pkg:oci/NAME`` without a version
(Trivy's documented form, ``pkg:oci/trivy?repository_url=ghcr.io/aquasecurity/trivy``)
names every digest of the scanned repository when ``NAME`` is its last path
component and its ``repository_url`` and ``tag`` qualifiers, when given, are
the image's (Docker Hub's aliases and ``library/`` compare equal); any other
qualifier, or an image known only by digest, does not match. For one
vulnerability and product the latest statement (by its ``timestamp``, else
the document's, else document order) wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from shipway.images import reference
from shipway.model.errors import InputError
from shipway.security.vuln.ignore import purl_matches
from shipway.security.vuln.model import Finding, Rule

SUPPRESS = ("not_affected", "fixed")
STATUSES = ("not_affected", "affected", "fixed", "under_investigation")


@dataclass(frozen=True)
class Product:
    id: str
    subcomponents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    vulnerability: tuple[str, ...]  # name then aliases
    products: tuple[Product, ...]
    status: str
    justification: str
    timestamp: str
    order: int
    source: str

    def applies(self, finding: Finding, image_digest: str, image: str = "") -> bool:
        if not set(self.vulnerability) & set(finding.ids):
            return False
        return any(_product_matches(p, finding, image_digest, image) for p in self.products)


def _repository(text: str) -> str | None:
    """``registry/repository`` of an image reference or a ``repository_url``, normalised."""
    try:
        ref = reference.parse(text, default_tag=None)
    except InputError:
        return None
    return None if ref.oci_dir else f"{ref.registry}/{ref.repository}"


def _is_image(purl: str, digest: str, image: str) -> bool:
    try:
        p = PackageURL.from_string(purl)
    except ValueError:
        return False
    if p.type != "oci":
        return False
    if p.version:
        return p.version == digest
    repo = _repository(image) if image else None
    if repo is None or p.name != repo.rsplit("/", 1)[-1]:
        return False  # known only by digest, or another repository
    quals = p.qualifiers if isinstance(p.qualifiers, dict) else {}
    if set(quals) - {"repository_url", "tag"}:
        return False  # arch, os...: what the scan does not know does not match
    if "repository_url" in quals and _repository(quals["repository_url"]) != repo:
        return False
    return "tag" not in quals or quals["tag"] == reference.parse(image).tag


def _product_matches(p: Product, finding: Finding, digest: str, image: str) -> bool:
    if purl_matches(p.id, finding.purl):
        return True
    if _is_image(p.id, digest, image):
        return not p.subcomponents or any(purl_matches(s, finding.purl) for s in p.subcomponents)
    return False


class VexRules:
    """The statements of one or more documents, as one ignore rule."""

    def __init__(self, statements: list[Statement]) -> None:
        self.statements = sorted(statements, key=lambda s: (s.timestamp, s.order))

    def suppresses(self, finding: Finding, image_digest: str, image: str = "") -> str | None:
        last = None
        for st in self.statements:
            if st.applies(finding, image_digest, image):
                last = st
        if last is None or last.status not in SUPPRESS:
            return None
        why = f" ({last.justification})" if last.justification else ""
        return f"{last.source}: VEX {last.status}{why}"


def _ids(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, dict) and isinstance(x.get("@id"), str):
        return str(x["@id"])
    raise ValueError("a product is a purl string or an object with @id")


def _line(text: str, needle: str, nth: int) -> int:
    at = -1
    for _ in range(nth + 1):
        at = text.find(needle, at + 1)
        if at < 0:
            return 1
    return text.count("\n", 0, at) + 1


def parse(text: str, file: str) -> VexRules:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno
        ) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("statements"), list):
        raise InputError("an OpenVEX document needs a statements list", file=file, line=1)
    default_ts = str(doc.get("timestamp") or "")
    out, problems = [], []
    for i, st in enumerate(doc["statements"]):
        line = _line(text, '"status"', i)
        try:
            if not isinstance(st, dict):
                raise ValueError("a statement must be an object")
            vuln = st.get("vulnerability")
            if isinstance(vuln, str):
                names = (vuln,)
            elif isinstance(vuln, dict) and isinstance(vuln.get("name"), str):
                names = (
                    vuln["name"],
                    *[a for a in vuln.get("aliases") or [] if isinstance(a, str)],
                )
            else:
                raise ValueError("vulnerability must be a string or an object with a name")
            status = st.get("status")
            if status not in STATUSES:
                raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
            products = []
            for p in st.get("products") or []:
                subs = (
                    tuple(_ids(s) for s in (p.get("subcomponents") or []))
                    if isinstance(p, dict)
                    else ()
                )
                products.append(Product(_ids(p), subs))
            if not products:
                raise ValueError("a statement needs at least one product")
        except ValueError as exc:
            problems.append(f"{file}:{line}: {exc}")
            continue
        out.append(
            Statement(
                names, tuple(products), str(status), str(st.get("justification") or ""),
                str(st.get("timestamp") or default_ts), i, f"{file}:{line}",
            )
        )  # fmt: skip
    if problems:
        raise InputError("\n".join(problems))
    return VexRules(out)


def as_rule(rules: VexRules) -> Rule:
    return rules
