"""Ignore files (.trivyignore, .trivyignore.yaml, .grype.yaml) and OpenVEX, read as-is."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shipway.model.errors import InputError
from shipway.security.vuln import ignore, vex
from shipway.security.vuln.model import Finding

DIGEST = "sha256:" + "ab" * 32

LODASH = Finding(
    id="GHSA-35jh-r3h4-6jhm",
    aliases=("CVE-2021-23337",),
    package="lodash",
    type="npm",
    purl="pkg:npm/lodash@4.17.20",
    installed="4.17.20",
    fixed=("4.17.21",),
    severity="HIGH",
    score=7.2,
    layer="sha256:" + "11" * 32,
    path="/app/node_modules/lodash/package.json",
    ecosystem="npm",
)
OPENSSL = replace(
    LODASH,
    id="CVE-2023-5678",
    aliases=(),
    package="libssl3",
    type="deb",
    purl="pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
    installed="3.0.11-1~deb12u2",
    fixed=(),
    path="/var/lib/dpkg/status",
    ecosystem="Debian:12",
    source_name="openssl",
)


def suppressed(rules: list[ignore.Rule], f: Finding) -> str | None:
    return next((r for r in (x.suppresses(f, DIGEST) for x in rules) if r), None)


def test_trivyignore_plain_ids_aliases_and_expiry() -> None:
    rules = ignore.load(
        "# accepted\nCVE-2021-23337\nCVE-2023-5678 exp:2020-01-01\n", ".trivyignore"
    )
    assert suppressed(rules, LODASH) == ".trivyignore:2: ignored"
    assert suppressed(rules, OPENSSL) is None  # expired
    with pytest.raises(InputError) as err:
        ignore.load("CVE-1 later\n", ".trivyignore")
    assert err.value.subject == ".trivyignore:1"


def test_trivyignore_yaml_paths_purls_statement_expiry() -> None:
    text = """vulnerabilities:
  - id: CVE-2021-23337
    paths:
      - "app/node_modules/**"
    statement: not reachable
  - id: CVE-2023-5678
    purls: ["pkg:deb/debian/libssl3"]
    expired_at: 2999-01-01
  - id: GHSA-35jh-r3h4-6jhm
    purls: ["pkg:npm/lodash@4.0.0"]
"""
    rules = ignore.load(text, ".trivyignore.yaml")
    assert suppressed(rules, LODASH) == ".trivyignore.yaml:2: not reachable"
    assert suppressed(rules, replace(LODASH, path="/srv/node_modules/lodash/package.json")) is None
    assert suppressed(rules, OPENSSL) == ".trivyignore.yaml:6: ignored"
    past = ignore.load(
        "vulnerabilities:\n  - id: CVE-2023-5678\n    expired_at: 2001-01-01\n",
        "x.trivyignore.yaml",
    )
    assert suppressed(past, OPENSSL) is None


def test_trivyignore_yaml_problems_all_at_once() -> None:
    text = (
        "vulnerabilities:\n  - paths: [a]\n  - id: X\n    expired_at: soon\n"
        "  - id: Y\n    purls: 3\n"
    )
    with pytest.raises(InputError) as err:
        ignore.load(text, ".trivyignore.yaml")
    msg = str(err.value)
    assert ".trivyignore.yaml:2:5: each entry needs an id" in msg
    assert ".trivyignore.yaml:4:5: expired_at must be a date" in msg
    assert ".trivyignore.yaml:6:5: purls must be a list of strings" in msg


def test_grype_rules() -> None:
    text = """ignore:
  - vulnerability: CVE-2021-23337
    include-aliases: true
    reason: mitigated
  - fix-state: not-fixed
    package:
      type: deb
      upstream-name: openssl
  - vulnerability: GHSA-35jh-r3h4-6jhm
    package: {name: lodash, version: 9.9.9}
"""
    rules = ignore.load(text, ".grype.yaml")
    assert suppressed(rules, LODASH) == ".grype.yaml:2: mitigated"
    assert suppressed(rules, OPENSSL) == ".grype.yaml:5: ignored"
    assert suppressed(rules, replace(OPENSSL, fixed=("3.0.13-1~deb12u1",))) is None
    no_alias = ignore.load("ignore:\n  - vulnerability: CVE-2021-23337\n", ".grype.yaml")
    assert suppressed(no_alias, LODASH) is None  # aliases only with include-aliases
    lang = ignore.load("ignore:\n  - package: {language: javascript}\n", ".grype.yaml")
    assert suppressed(lang, LODASH) is not None
    assert suppressed(lang, OPENSSL) is None
    loc = ignore.load('ignore:\n  - package: {location: "/app/**", type: npm}\n', ".grype.yaml")
    assert suppressed(loc, LODASH) is not None
    assert suppressed(loc, OPENSSL) is None


def test_grype_match_type_and_vex_fields() -> None:
    # every rule field grype documents, in one rule: it loads, and being about VEX data
    # it ignores nothing by itself (the VEX documents do that)
    text = """ignore:
  - vulnerability: CVE-2021-23337
    fix-state: fixed
    vex-status: not_affected
    vex-justification: vulnerable_code_not_present
    match-type: exact-direct-match
    package:
      name: lodash
      version: 4.17.20
      type: npm
      location: "/app/node_modules/**"
  - match-type: exact-indirect-match
    package: {upstream-name: openssl}
    reason: advisories for the source package
"""
    rules = ignore.load(text, ".grype.yaml")
    assert suppressed(rules, LODASH) is None
    indirect = replace(OPENSSL, match_type="exact-indirect-match")
    assert suppressed(rules, indirect) == ".grype.yaml:12: advisories for the source package"
    assert suppressed(rules, OPENSSL) is None, "matched by its own name: a direct match"
    cpe = ignore.load("ignore:\n  - match-type: cpe-match\n", ".grype.yaml")
    assert suppressed(cpe, LODASH) is None and suppressed(cpe, indirect) is None
    bad = (
        "ignore:\n  - vex-status: affected\n  - match-type: fuzzy\n"
        "  - vulnerability: CVE-1\n    vex-justification: component_not_present\n"
    )
    with pytest.raises(InputError) as err:
        ignore.load(bad, ".grype.yaml")
    msg = str(err.value)
    assert ".grype.yaml:2:5: vex-status affected (grype's rules that put ignored findings " \
           "back) is not supported by shipway" in msg  # fmt: skip
    assert ".grype.yaml:3:5: match-type must be one of exact-direct-match" in msg
    assert ".grype.yaml:5:5: vex-justification needs vex-status" in msg


def test_grype_problems() -> None:
    text = (
        "ignore:\n  - fix-state: maybe\n  - package: {colour: red}\n"
        "  - vulnerability: CVE-1\n    namespace: nvd:cpe\n"
    )
    with pytest.raises(InputError) as err:
        ignore.load(text, ".grype.yaml")
    msg = str(err.value)
    assert ".grype.yaml:5:5: namespace is not supported by shipway" in msg
    assert ".grype.yaml:2:5: fix-state must be one of" in msg
    assert ".grype.yaml:3:15: unknown package field 'colour'" in msg


def _vex(statements: list[dict[str, object]]) -> str:
    return json.dumps(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.com/vex-1",
            "author": "tests",
            "timestamp": "2024-01-01T00:00:00Z",
            "version": 1,
            "statements": statements,
        },
        indent=2,
    )


def test_openvex_statements() -> None:
    doc = _vex(
        [
            {
                "vulnerability": {"name": "CVE-2021-23337"},
                "products": [{"@id": "pkg:npm/lodash"}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            },
            {
                "vulnerability": {"name": "CVE-2023-5678"},
                "products": [
                    {
                        "@id": f"pkg:oci/app@{DIGEST}",
                        "subcomponents": [{"@id": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2"}],
                    }
                ],
                "status": "fixed",
            },
        ]
    )
    rules = vex.parse(doc, "app.vex.json")
    lines = [n for n, line in enumerate(doc.splitlines(), 1) if '"status"' in line]
    why = "VEX not_affected (vulnerable_code_not_in_execute_path)"
    assert suppressed([rules], LODASH) == f"app.vex.json:{lines[0]}: {why}"
    assert suppressed([rules], OPENSSL) == f"app.vex.json:{lines[1]}: VEX fixed"
    other_image = rules.suppresses(OPENSSL, "sha256:" + "cd" * 32)
    assert other_image is None
    no_digest = _vex(
        [{"vulnerability": "CVE-2023-5678", "products": ["pkg:oci/app"], "status": "fixed"}]
    )
    assert vex.parse(no_digest, "v.json").suppresses(OPENSSL, DIGEST) is None


def test_openvex_latest_statement_wins_and_v001_strings() -> None:
    def st(status: str, ts: str) -> dict[str, object]:
        return {
            "vulnerability": "CVE-2021-23337",
            "products": ["pkg:npm/lodash@4.17.20"],
            "status": status,
            "timestamp": ts,
        }

    doc = _vex([st("affected", "2024-03-01T00:00:00Z"), st("not_affected", "2024-01-01T00:00:00Z")])
    assert vex.parse(doc, "v.json").suppresses(LODASH, DIGEST) is None
    with pytest.raises(InputError, match="status must be one of"):
        vex.parse(
            _vex([{"vulnerability": "X", "products": ["pkg:npm/a"], "status": "fine"}]), "v.json"
        )


@pytest.mark.parametrize(
    "product, image, matches",
    [
        # Trivy's documented form: the repository, every digest of it
        ("pkg:oci/trivy?repository_url=ghcr.io/aquasecurity/trivy",
         "ghcr.io/aquasecurity/trivy:0.52.0", True),
        ("pkg:oci/trivy?repository_url=ghcr.io%2Faquasecurity%2Ftrivy",
         "ghcr.io/aquasecurity/trivy@" + DIGEST, True),
        ("pkg:oci/trivy", "ghcr.io/aquasecurity/trivy:0.52.0", True),
        ("pkg:oci/trivy?repository_url=ghcr.io/aquasecurity/trivy&tag=0.52.0",
         "ghcr.io/aquasecurity/trivy:0.52.0", True),
        ("pkg:oci/alpine?repository_url=index.docker.io/library/alpine", "alpine:3.18", True),
        # another repository, another tag, a qualifier the scan cannot check, no name known
        ("pkg:oci/trivy?repository_url=ghcr.io/someone/trivy",
         "ghcr.io/aquasecurity/trivy:0.52.0", False),
        ("pkg:oci/trivy", "ghcr.io/aquasecurity/scanner:1", False),
        ("pkg:oci/trivy?repository_url=ghcr.io/aquasecurity/trivy&tag=0.51.0",
         "ghcr.io/aquasecurity/trivy:0.52.0", False),
        ("pkg:oci/trivy?arch=amd64", "ghcr.io/aquasecurity/trivy:0.52.0", False),
        ("pkg:oci/trivy", "", False),
        ("pkg:oci/trivy", "oci:/tmp/layout:trivy", False),
        # with a digest: that digest, whatever the name
        ("pkg:oci/other@" + DIGEST, "ghcr.io/aquasecurity/trivy:0.52.0", True),
        ("pkg:oci/trivy@sha256:" + "cd" * 32, "ghcr.io/aquasecurity/trivy:0.52.0", False),
    ],
)  # fmt: skip
def test_openvex_image_products_without_a_digest_name_the_repository(
    product: str, image: str, matches: bool
) -> None:
    doc = _vex([{"vulnerability": {"name": "CVE-2021-23337"},
                 "products": [{"@id": product, "subcomponents": [{"@id": "pkg:npm/lodash"}]}],
                 "status": "not_affected", "justification": "component_not_present"}])  # fmt: skip
    rules = vex.parse(doc, "trivy.openvex.json")
    assert (rules.suppresses(LODASH, DIGEST, image) is not None) is matches
    assert rules.suppresses(OPENSSL, DIGEST, image) is None, "not a subcomponent"


@pytest.mark.parametrize(
    "pattern, matches",
    [
        # purls copied from a Trivy report: Trivy's distro qualifier is the point release
        ("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.1", True),
        ("pkg:deb/debian/libssl3@3.0.11-1%7Edeb12u2?arch=amd64&distro=debian-12.1", True),
        ("pkg:deb/debian/libssl3?distro=debian-12", True),
        ("pkg:deb/debian/libssl3?distro=debian-11.7", False),
        ("pkg:deb/debian/libssl3?distro=ubuntu-12.04", False),
        ("pkg:deb/debian/libssl3?arch=arm64&distro=debian-12.1", False),
        ("pkg:deb/debian/libssl3?distro=debian-12&upstream=openssl", True),
        ("pkg:deb/debian/libssl3?distro=debian-12&upstream=other", False),
    ],
)
def test_trivyignore_purls_as_trivy_writes_them(pattern: str, matches: bool) -> None:
    text = f'vulnerabilities:\n  - id: CVE-2023-5678\n    purls: ["{pattern}"]\n'
    rules = ignore.load(text, ".trivyignore.yaml")
    assert (suppressed(rules, OPENSSL) is not None) is matches


def test_alpine_distro_in_trivy_and_syft_words() -> None:
    musl = replace(OPENSSL, package="musl", type="apk", purl="pkg:apk/alpine/musl@1.2.4-r2"
                   "?arch=x86_64&distro=alpine-3.18.4")  # fmt: skip
    for pattern, matches in (("distro=3.18.4", True), ("distro=3.18", True),
                             ("distro=3.19.0", False), ("distro=alpine-3.18.4", True)):  # fmt: skip
        purl = f"pkg:apk/alpine/musl?{pattern}"
        text = f'vulnerabilities:\n  - id: CVE-2023-5678\n    purls: ["{purl}"]\n'
        assert (suppressed(ignore.load(text, ".trivyignore.yaml"), musl) is not None) is matches
