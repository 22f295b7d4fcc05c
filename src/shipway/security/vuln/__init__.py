"""Offline vulnerability scanning: OSV records in a local database, matched per ecosystem.

``scan(image, db, options) -> ScanReport`` is the stable entry point for the
CLI, the promotion gate and the policy helper; ``VulnDB`` opens the database
(``$SHIPWAY_HOME/vuln/osv.db``). Modules: ``versions`` (ordering per
ecosystem, pure), ``osv`` (records, checked), ``match`` (OSV range rules),
``severity`` (CVSS), ``ignore`` and ``vex`` (suppressions), ``model``
(findings and reports), ``db`` (SQLite), ``scan``, ``sarif``.
"""

from __future__ import annotations

from shipway.security.vuln.db import VulnDB
from shipway.security.vuln.model import Finding, ScanOptions, ScanReport
from shipway.security.vuln.scan import scan

__all__ = ["Finding", "ScanOptions", "ScanReport", "VulnDB", "scan"]
