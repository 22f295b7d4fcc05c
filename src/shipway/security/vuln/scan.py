"""Match an image's SBOM against the offline OSV database: ``scan(image, db, options)``.

Engine over ``shipway.security.sbom`` and ``db``: each package is looked up
by its ecosystem (Debian and Ubuntu packages by the image's release, Alpine
by ``vMAJOR.MINOR``, PyPI, npm, Go) under its own name and its source
package's name (Debian and Alpine advisories name source packages, and a
binNMU's source version is what they compare). Findings outside
``--severity`` are dropped, unfixed ones too with ``ignore_unfixed``;
findings an ignore rule or a VEX statement covers move to ``ignored`` with
the reason. No network, ever.
"""

from __future__ import annotations

from shipway.images.store import Store
from shipway.security.sbom.model import Distro, Package, Sbom
from shipway.security.vuln import match, severity
from shipway.security.vuln.db import VulnDB
from shipway.security.vuln.model import Finding, Ignored, ScanOptions, ScanReport
from shipway.security.vuln.osv import Affected

LANGUAGE_ECOSYSTEMS = {"pypi": "PyPI", "npm": "npm", "golang": "Go"}


def ecosystem_of(pkg: Package, distro: Distro) -> str | None:
    """The OSV ecosystem (with the release for OS packages) of a package."""
    if pkg.type == "deb":
        name = "Ubuntu" if distro.id == "ubuntu" else "Debian"
        ver = distro.version_id if name == "Ubuntu" else distro.version_id.split(".")[0]
        return f"{name}:{ver}" if ver else name
    if pkg.type == "apk":
        parts = distro.version_id.split(".")
        ver = f"v{parts[0]}.{parts[1]}" if len(parts) >= 2 else ""
        name = {"wolfi": "Wolfi", "chainguard": "Chainguard"}.get(distro.id, "Alpine")
        return f"{name}:{ver}" if ver and name == "Alpine" else name
    return LANGUAGE_ECOSYSTEMS.get(pkg.type)


def _match_type(affected: Affected, pkg: Package) -> str:
    """grype's words: the package itself, or its source (upstream) package."""
    own = match.normalize_name(affected.ecosystem, pkg.name)
    if match.normalize_name(affected.ecosystem, affected.name) == own:
        return "exact-direct-match"
    return "exact-indirect-match"


def _findings(pkg: Package, eco: str, db: VulnDB) -> list[Finding]:
    names = tuple(n for n in (pkg.name, pkg.source_name) if n)
    version = (pkg.source_version or pkg.version) if pkg.type == "deb" else pkg.version
    out: list[Finding] = []
    seen: set[str] = set()
    for rec in db.lookup(eco, names):
        if rec.id in seen:
            continue
        hit = match.check(rec, (eco,), names, version)
        if hit is None:
            continue
        seen.add(rec.id)
        level, score, _ = severity.of(rec, hit.affected)
        out.append(
            Finding(
                id=rec.id,
                aliases=rec.aliases,
                package=pkg.name,
                type=pkg.type,
                purl=pkg.purl,
                installed=pkg.version,
                fixed=hit.fixed,
                severity=level,
                score=score,
                layer=pkg.layer,
                path="/" + pkg.path,
                ecosystem=hit.affected.ecosystem,
                summary=rec.summary,
                source_name=pkg.source_name,
                match_type=_match_type(hit.affected, pkg),
            )
        )
    return out


def scan(
    image: str | Sbom,
    db: VulnDB,
    options: ScanOptions | None = None,
    *,
    store: Store | None = None,
    insecure: bool | None = None,
) -> ScanReport:
    """Scan an image (a reference, or an SBOM already made) with ``db``."""
    opts = options or ScanOptions()
    if isinstance(image, Sbom):
        sbom = image
    else:
        from shipway.security.sbom.image import sbom_for

        sbom = sbom_for(image, store=store, insecure=insecure)
    report = ScanReport(sbom.image, sbom.digest, packages=len(sbom.packages), fail_on=opts.fail_on)
    wanted = {s.upper() for s in opts.severities}
    for pkg in sbom.packages:
        eco = ecosystem_of(pkg, sbom.distro)
        if eco is None:
            continue
        for f in _findings(pkg, eco, db):
            if f.severity not in wanted or (opts.ignore_unfixed and not f.fixed):
                continue
            reason = next(
                (
                    r
                    for r in (rule.suppresses(f, sbom.digest, sbom.image) for rule in opts.rules)
                    if r
                ),
                None,
            )
            if reason:
                report.ignored.append(Ignored(f, reason))
            else:
                report.findings.append(f)
    order = {lvl: i for i, lvl in enumerate(reversed(severity.LEVELS))}
    report.findings.sort(key=lambda f: (order[f.severity], f.package, f.id))
    status = db.status()
    report.db = {
        "records": status["records"],
        "importedAt": status["importedAt"],
        "path": status["path"],
    }
    return report
