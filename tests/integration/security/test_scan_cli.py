"""``shipway vuln db import|status`` and ``shipway image scan`` on images with our own records."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from security_records import RECORDS

from shipway.cli.root import run

pytestmark = pytest.mark.integration


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        run(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_import_reports_malformed_records_and_keeps_the_rest(
    shipway_home: Path, osv_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = osv_dir / "BAD-1.json"
    bad.write_text(
        '{\n  "id": "BAD-1",\n  "affected": [\n    {"package": {"ecosystem": "npm"}}\n  ]\n}\n'
    )
    (osv_dir / "BAD-2.json").write_text('{"id": "BAD-2",\n "affected": [}')
    code, out, err = cli(capsys, "vuln", "db", "import", str(osv_dir))
    assert code == 2
    assert f"{bad}:4: name is required" in err
    assert f"{osv_dir / 'BAD-2.json'}:2:15: invalid JSON" in err
    assert f"imported {len(RECORDS)} records from {len(RECORDS) + 2} files, 2 malformed" in out
    code, out, _ = cli(capsys, "vuln", "db", "status", "-o", "json")
    st = json.loads(out)
    assert code == 0 and st["records"] == len(RECORDS)
    assert st["ecosystems"] == {"Alpine": 2, "Debian": 3, "Go": 1, "PyPI": 3, "npm": 2}
    assert st["path"] == str(shipway_home / "vuln" / "osv.db")


def test_import_osv_zip(
    shipway_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    z = tmp_path / "npm.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for rec in RECORDS:
            if rec["affected"][0]["package"]["ecosystem"] == "npm":
                zf.writestr(f"{rec['id']}.json", json.dumps(rec))
    code, out, _ = cli(capsys, "vuln", "db", "import", str(z), "-o", "json")
    assert code == 0 and json.loads(out)["imported"] == 2


def test_scan_without_a_database_says_how_to_make_one(
    shipway_home: Path, app_layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "image", "scan", f"oci:{app_layout}:v1")
    assert code == 3 and "shipway vuln db import" in err


def _scan(capsys: pytest.CaptureFixture[str], ref: str, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code, out, _ = cli(capsys, "image", "scan", ref, "-o", "json", *extra)
    return code, json.loads(out)


def test_scan_findings(
    shipway_home: Path, osv_dir: Path, app_layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "vuln", "db", "import", str(osv_dir))
    ref = f"oci:{app_layout}:v1"
    code, rep = _scan(capsys, ref)
    assert code == 0
    got = {(f["id"], f["package"]) for f in rep["findings"]}
    assert got == {
        ("DSA-5532-1", "openssl"),
        ("DSA-5532-1", "libssl3"),
        ("GHSA-35jh-r3h4-6jhm", "lodash"),
        ("GHSA-xvch-5gv4-984h", "minimist"),
        ("GHSA-j8r2-6x86-q33q", "Jinja2"),
        ("GO-2023-1840", "stdlib"),
    }
    by = {(f["id"], f["package"]): f for f in rep["findings"]}
    libssl = by[("DSA-5532-1", "libssl3")]
    assert libssl["aliases"] == ["CVE-2023-5678"]
    assert (libssl["installed"], libssl["fixed"], libssl["severity"]) == (
        "3.0.11-1~deb12u2",
        ["3.0.11-1~deb12u3"],
        "MEDIUM",
    )
    assert libssl["path"] == "/var/lib/dpkg/status"
    assert libssl["match_type"] == "exact-indirect-match"  # by its source package, openssl
    assert by[("DSA-5532-1", "openssl")]["match_type"] == "exact-direct-match"
    go = by[("GO-2023-1840", "stdlib")]
    assert (go["installed"], go["fixed"], go["severity"], go["path"]) == (
        "1.19.8",
        ["1.19.10"],
        "HIGH",
        "/usr/local/bin/app",
    )
    assert go["layer"] == rep_layers(app_layout)[1]
    assert by[("GHSA-j8r2-6x86-q33q", "Jinja2")]["fixed"] == []
    assert by[("GHSA-j8r2-6x86-q33q", "Jinja2")]["severity"] == "MEDIUM"
    assert rep["findings"][0]["severity"] == "CRITICAL"  # most severe first
    assert rep["counts"] == {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3, "LOW": 0, "UNKNOWN": 0}


def rep_layers(layout: Path) -> list[str]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    return [d["digest"] for d in manifest["layers"]]


def test_scan_filters_fail_on_and_formats(
    shipway_home: Path, osv_dir: Path, app_layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "vuln", "db", "import", str(osv_dir))
    ref = f"oci:{app_layout}:v1"
    code, rep = _scan(capsys, ref, "--severity", "CRITICAL,HIGH", "--fail-on", "critical")
    assert code == 1 and rep["failed"]
    assert {f["severity"] for f in rep["findings"]} == {"CRITICAL", "HIGH"}
    code, rep = _scan(capsys, ref, "--ignore-unfixed", "--severity", "MEDIUM")
    assert code == 0
    assert {f["package"] for f in rep["findings"]} == {"openssl", "libssl3"}  # Jinja2 has no fix
    code, out, err = cli(capsys, "image", "scan", ref, "--fail-on", "HIGH")
    assert code == 1
    assert "GHSA-xvch-5gv4-984h   minimist   1.2.5" in out
    assert "6 findings (CRITICAL: 1, HIGH: 2, MEDIUM: 3), 0 ignored" in err
    code, out, _ = cli(capsys, "image", "scan", ref, "-o", "sarif")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == 6
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["GHSA-xvch-5gv4-984h"]["properties"]["security-severity"] == "9.8"
    assert {r["level"] for r in results} == {"error", "warning"}
    code, _, err = cli(capsys, "image", "scan", ref, "--fail-on", "SEVERE")
    assert code == 2 and "unknown severity 'SEVERE'" in err


def test_scan_ignore_files_and_vex(
    shipway_home: Path,
    osv_dir: Path,
    app_layout: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli(capsys, "vuln", "db", "import", str(osv_dir))
    ref = f"oci:{app_layout}:v1"
    work = tmp_path / "work"
    work.mkdir()
    (work / ".trivyignore.yaml").write_text(
        "vulnerabilities:\n  - id: CVE-2021-44906\n    statement: dev only\n"
        "  - id: CVE-2023-5678\n    purls: [pkg:deb/debian/libssl3]\n"
    )
    (work / ".grype.yaml").write_text(
        "ignore:\n  - vulnerability: GO-2023-1840\n    reason: not reachable\n"
    )
    monkeypatch.chdir(work)  # the default ignore files are read from .
    code, rep = _scan(capsys, ref)
    ignored = {(i["id"], i["package"]): i["reason"] for i in rep["ignored"]}
    assert ignored == {
        ("GHSA-xvch-5gv4-984h", "minimist"): ".trivyignore.yaml:2: dev only",
        ("DSA-5532-1", "libssl3"): ".trivyignore.yaml:4: ignored",
        ("GO-2023-1840", "stdlib"): ".grype.yaml:2: not reachable",
    }
    assert len(rep["findings"]) == 3
    digest = json.loads((app_layout / "index.json").read_text())["manifests"][0]["digest"]
    vex = tmp_path / "app.openvex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.com/vex/1",
                "author": "tests",
                "timestamp": "2024-06-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "GHSA-35jh-r3h4-6jhm"},
                        "products": [
                            {
                                "@id": f"pkg:oci/app@{digest}",
                                "subcomponents": [{"@id": "pkg:npm/lodash"}],
                            }
                        ],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_present",
                    }
                ],
            }
        )
    )
    _, rep = _scan(capsys, ref, "--ignorefile", str(work / ".grype.yaml"), "--vex", str(vex))
    ids = {(i["id"], i["package"]) for i in rep["ignored"]}
    assert ids == {("GO-2023-1840", "stdlib"), ("GHSA-35jh-r3h4-6jhm", "lodash")}
    (work / "bad.trivyignore.yaml").write_text("vulnerabilities:\n  - statement: no id\n")
    code, _, err = cli(
        capsys, "image", "scan", ref, "--ignorefile", str(work / "bad.trivyignore.yaml")
    )
    assert code == 2 and "bad.trivyignore.yaml:2:5: each entry needs an id" in err


def test_alpine_release_matching(
    shipway_home: Path, osv_dir: Path, alpine_layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "vuln", "db", "import", str(osv_dir))
    code, rep = _scan(capsys, f"oci:{alpine_layout}:3.18")
    assert code == 0
    assert [(f["id"], f["package"], f["fixed"]) for f in rep["findings"]] == [
        ("ALPINE-CVE-2023-5363", "libcrypto3", ["3.1.4-r0"])  # by its origin; musl's is for 3.17
    ]


def test_python_api(shipway_home: Path, osv_dir: Path, app_layout: Path, tmp_path: Path) -> None:
    """What the promotion gate and the policy helper call."""
    from shipway.images.store import Store
    from shipway.security.vuln import ScanOptions, VulnDB, scan

    with VulnDB(tmp_path / "api.db", create=True) as db:
        db.import_path(osv_dir)
        report = scan(
            f"oci:{app_layout}:v1", db, ScanOptions(fail_on="CRITICAL"), store=Store(tmp_path / "s")
        )
    assert report.failed
    assert [f.id for f in report.at_or_above("CRITICAL")] == ["GHSA-xvch-5gv4-984h"]
    assert report.counts()["HIGH"] == 2
