"""OSV records: checking, range evaluation (introduced/fixed/last_affected/limit), severities."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shipway.security.vuln import match, osv, severity


def record(affected: list[dict[str, Any]], **extra: Any) -> osv.Record:
    return osv.parse(
        {"id": "OSV-TEST-1", "modified": "2024-01-01T00:00:00Z", "affected": affected, **extra},
        "t.json",
    )


def npm(
    events: list[dict[str, str]], versions: list[str] | None = None, rtype: str = "SEMVER"
) -> osv.Record:
    aff: dict[str, Any] = {
        "package": {"ecosystem": "npm", "name": "lodash"},
        "ranges": [{"type": rtype, "events": events}],
    }
    if versions is not None:
        aff["versions"] = versions
    return record([aff])


def hit(rec: osv.Record, version: str, eco: str = "npm", name: str = "lodash") -> match.Hit | None:
    return match.check(rec, (eco,), (name,), version)


@pytest.mark.parametrize(
    ("version", "affected"),
    [("0.0.1", True), ("4.17.20", True), ("4.17.21", False), ("5.0.0", False)],
)
def test_introduced_zero_fixed(version: str, affected: bool) -> None:
    rec = npm([{"introduced": "0"}, {"fixed": "4.17.21"}])
    assert (hit(rec, version) is not None) is affected


def test_fixed_versions_above_the_installed_one() -> None:
    rec = npm(
        [{"introduced": "1.0.0"}, {"fixed": "1.2.0"}, {"introduced": "2.0.0"}, {"fixed": "2.1.0"}]
    )
    got = hit(rec, "1.1.0")
    assert got is not None and got.fixed == ("1.2.0", "2.1.0")
    assert hit(rec, "1.5.0") is None
    got = hit(rec, "2.0.5")
    assert got is not None and got.fixed == ("2.1.0",)
    assert hit(rec, "0.9.0") is None


def test_last_affected_includes_itself() -> None:
    rec = npm([{"introduced": "1.0.0"}, {"last_affected": "1.4.0"}])
    assert hit(rec, "1.4.0") is not None
    assert hit(rec, "1.4.1") is None
    got = hit(rec, "1.0.0")
    assert got is not None and got.fixed == ()


def test_limit_bounds_the_range() -> None:
    rec = npm([{"introduced": "1.0.0"}, {"limit": "1.5.0"}])
    assert hit(rec, "1.4.9") is not None
    assert hit(rec, "1.5.0") is None


def test_versions_list_and_git_ranges() -> None:
    rec = npm(
        [{"introduced": "abc123"}, {"fixed": "def456"}], versions=["3.0.0", "3.0.1"], rtype="GIT"
    )
    assert hit(rec, "3.0.1") is not None
    assert hit(rec, "3.0.2") is None  # the GIT range never matches a version


def test_withdrawn_records_and_other_packages_do_not_match() -> None:
    rec = record(
        [
            {
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            }
        ],
        withdrawn="2024-02-01T00:00:00Z",
    )
    assert hit(rec, "1.0.0") is None
    assert hit(npm([{"introduced": "0"}]), "1.0.0", name="underscore") is None
    assert hit(npm([{"introduced": "0"}]), "1.0.0", eco="PyPI") is None


def test_debian_release_suffix_and_dpkg_ordering() -> None:
    rec = record(
        [
            {
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u3"}],
                    }
                ],
            }
        ]
    )
    assert match.check(rec, ("Debian:12",), ("openssl",), "3.0.11-1~deb12u2") is not None
    assert match.check(rec, ("Debian:12",), ("openssl",), "3.0.11-1~deb12u3") is None
    assert match.check(rec, ("Debian:11",), ("openssl",), "1.1.1n-0+deb11u1") is None
    assert match.check(rec, ("Debian",), ("openssl",), "3.0.0-1") is not None


def test_malformed_records_name_file_line_and_reason() -> None:
    text = json.dumps(
        {
            "id": "X-1",
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": "a"},
                    "ranges": [{"type": "SEMVER", "events": [{"fixed": "1.0"}]}],
                }
            ],
        },
        indent=2,
    )
    with pytest.raises(osv.OsvError) as err:
        osv.loads(text, "bad.json")
    assert err.value.file == "bad.json"
    assert err.value.line == text[: text.index('"events"')].count("\n") + 1
    assert "introduced" in err.value.message
    with pytest.raises(osv.OsvError) as err:
        osv.loads('{\n  "id": "X",\n  "affected": [}\n', "broken.json")
    assert (err.value.line, err.value.column) == (3, 16)
    with pytest.raises(osv.OsvError, match="unknown event 'fix'"):
        npm([{"introduced": "0"}, {"fix": "1"}])
    with pytest.raises(osv.OsvError, match="range type must be one of"):
        npm([{"introduced": "0"}], rtype="RANGE")
    with pytest.raises(osv.OsvError, match="id is required"):
        osv.parse({"affected": []}, "f.json")


def test_round_trip_through_the_stored_form() -> None:
    rec = npm([{"introduced": "0"}, {"fixed": "4.17.21"}], versions=["1.0.0"])
    assert osv.parse(osv.to_json(rec), "db") == rec


@pytest.mark.parametrize(
    ("sev", "db", "eco", "want", "score"),
    [
        (
            [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "",
            "",
            "CRITICAL",
            9.8,
        ),
        (
            [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"}],
            "",
            "",
            "LOW",
            3.1,
        ),
        ([{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}], "", "", "HIGH", 7.5),
        (
            [
                {
                    "type": "CVSS_V4",
                    "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                }
            ],
            "",
            "",
            "CRITICAL",
            9.3,
        ),
        ([], "MODERATE", "", "MEDIUM", None),
        ([], "", "negligible", "LOW", None),
        ([{"type": "CVSS_V3", "score": "garbage"}], "HIGH", "", "HIGH", None),
        ([], "", "", "UNKNOWN", None),
    ],
)
def test_severity(
    sev: list[dict[str, str]], db: str, eco: str, want: str, score: float | None
) -> None:
    aff: dict[str, Any] = {"package": {"ecosystem": "npm", "name": "x"}}
    if eco:
        aff["ecosystem_specific"] = {"severity": eco}
    rec = record([aff], severity=sev, database_specific={"severity": db} if db else {})
    level, got_score, _ = severity.of(rec, rec.affected[0])
    assert (level, got_score) == (want, score)


def test_pypi_names_compare_normalised() -> None:
    rec = record(
        [
            {
                "package": {"ecosystem": "PyPI", "name": "Foo_Bar"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            }
        ]
    )
    assert match.check(rec, ("PyPI",), ("foo-bar",), "1.0") is not None
    assert match.check(rec, ("PyPI",), ("foo.bar",), "1.0") is not None
    npm_rec = record(
        [
            {
                "package": {"ecosystem": "npm", "name": "Foo"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
            }
        ]
    )
    assert match.check(npm_rec, ("npm",), ("foo",), "1.0.0") is None  # npm names are exact
