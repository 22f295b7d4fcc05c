"""SARIF 2.1.0 of a scan report (what code-scanning dashboards read).

Pure. One rule per vulnerability id (with ``security-severity``, the CVSS
score when known, as GitHub reads it) and one result per finding, located
at the file the package was read from; ``level`` is ``error`` for HIGH and
CRITICAL, ``warning`` for MEDIUM, ``note`` otherwise.
"""

from __future__ import annotations

from typing import Any

from shipway import __version__
from shipway.security.vuln.model import ScanReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}
_DEFAULT_SCORE = {"CRITICAL": 9.5, "HIGH": 8.0, "MEDIUM": 5.5, "LOW": 2.0, "UNKNOWN": 0.0}


def render(report: ScanReport) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        score = f.score if f.score is not None else _DEFAULT_SCORE[f.severity]
        rules.setdefault(
            f.id,
            {
                "id": f.id,
                "name": f.id,
                "shortDescription": {"text": f.summary or f.id},
                "helpUri": f"https://osv.dev/vulnerability/{f.id}",
                "properties": {
                    "security-severity": f"{score:.1f}",
                    "tags": ["vulnerability", "security", f.severity],
                },
            },
        )
        fixed = ", ".join(f.fixed) or "no fixed version"
        results.append(
            {
                "ruleId": f.id,
                "ruleIndex": list(rules).index(f.id),
                "level": _LEVEL.get(f.severity, "note"),
                "message": {
                    "text": f"{f.package} {f.installed} is affected by {f.id} "
                    f"({f.severity}); fixed: {fixed}; layer {f.layer}"
                },
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": f.path.lstrip("/")}},
                        "message": {"text": f"{report.image}: {f.purl}"},
                    }
                ],
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "shipway",
                        "version": __version__,
                        "informationUri": "https://shipway.dev",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
