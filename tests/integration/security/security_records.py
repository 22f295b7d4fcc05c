"""Our own OSV records for the packages the test images hold."""

from __future__ import annotations

from typing import Any

CVSS_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
CVSS_HIGH = "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"  # 7.2
CVSS_MEDIUM = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"  # 5.3


def osv(
    rec_id: str, eco: str, name: str, events: list[dict[str, str]], **extra: Any
) -> dict[str, Any]:
    return {
        "schema_version": "1.6.0",
        "id": rec_id,
        "modified": "2024-05-01T00:00:00Z",
        "summary": f"{name} test advisory",
        "affected": [
            {
                "package": {"ecosystem": eco, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
        **extra,
    }


RECORDS = [
    # Debian advisories name the source package: libssl3 and openssl both match
    osv(
        "DSA-5532-1",
        "Debian:12",
        "openssl",
        [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u3"}],
        aliases=["CVE-2023-5678"],
        severity=[{"type": "CVSS_V3", "score": CVSS_MEDIUM}],
    ),
    osv(
        "DEBIAN-CVE-2024-0001",
        "Debian:12",
        "glibc",
        [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}],
    ),
    osv("DEBIAN-CVE-2024-0002", "Debian:11", "bash", [{"introduced": "0"}]),  # another release
    osv(
        "GHSA-35jh-r3h4-6jhm",
        "npm",
        "lodash",
        [{"introduced": "0"}, {"fixed": "4.17.21"}],
        aliases=["CVE-2021-23337"],
        severity=[{"type": "CVSS_V3", "score": CVSS_HIGH}],
    ),
    osv(
        "GHSA-xvch-5gv4-984h",
        "npm",
        "minimist",
        [{"introduced": "1.0.0"}, {"fixed": "1.2.6"}],
        aliases=["CVE-2021-44906"],
        severity=[{"type": "CVSS_V3", "score": CVSS_CRITICAL}],
    ),
    osv(
        "PYSEC-2023-74", "PyPI", "requests", [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}]
    ),  # fixed
    osv(
        "GHSA-j8r2-6x86-q33q",
        "PyPI",
        "Jinja2",
        [{"introduced": "0"}, {"last_affected": "3.1.2"}],
        database_specific={"severity": "MODERATE"},
    ),
    osv(
        "PYSEC-2021-108", "PyPI", "urllib3", [{"introduced": "0"}, {"fixed": "1.26.5"}]
    ),  # whited out
    osv(
        "GO-2023-1840",
        "Go",
        "stdlib",
        [{"introduced": "0"}, {"fixed": "1.19.10"}],
        aliases=["CVE-2023-29403"],
        severity=[{"type": "CVSS_V3", "score": CVSS_HIGH}],
    ),
    osv(
        "ALPINE-CVE-2023-5363",
        "Alpine:v3.18",
        "openssl",
        [{"introduced": "0"}, {"fixed": "3.1.4-r0"}],
        aliases=["CVE-2023-5363"],
    ),
    osv("ALPINE-CVE-2099-0001", "Alpine:v3.17", "musl", [{"introduced": "0"}]),
]
