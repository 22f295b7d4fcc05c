"""Version ordering per ecosystem; dpkg's beside the real ``dpkg --compare-versions``."""

from __future__ import annotations

import itertools
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipway.security.vuln import versions
from shipway.security.vuln.versions import apk, dpkg

DPKG_SORTED = [
    "0.9",
    "1.0~~",
    "1.0~~a",
    "1.0~",
    "1.0~rc1",
    "1.0",
    "1.0-0",
    "1.0-1",
    "1.0-1+b1",
    "1.0-1.1",
    "1.0a",
    "1.0+dfsg",
    "1.0.1",
    "1.00.2",
    "1.2",
    "1.10",
    "2:0.1",
]


def test_dpkg_sorted_list_in_order() -> None:
    for a, b in itertools.pairwise(DPKG_SORTED):
        if (a, b) == ("1.0", "1.0-0"):
            assert dpkg.compare(a, b) == 0  # a missing revision is "0"
            continue
        assert dpkg.compare(a, b) < 0, (a, b)
        assert dpkg.compare(b, a) > 0, (b, a)


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        ("1:1.0", "1.0", 1),
        ("0:1.0", "1.0", 0),
        ("1.0-1", "1.0-1", 0),
        ("2.36-9+deb12u3", "2.36-9+deb12u4", -1),
        ("3.0.11-1~deb12u2", "3.0.11-1", -1),
        ("1.2.3-1ubuntu1", "1.2.3-1", 1),
        ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1),
        ("1.001", "1.1", 0),
    ],
)
def test_dpkg_pairs(a: str, b: str, want: int) -> None:
    got = dpkg.compare(a, b)
    assert (got > 0) - (got < 0) == want


def test_dpkg_refuses_what_dpkg_refuses() -> None:
    with pytest.raises(dpkg.DpkgVersionError):
        dpkg.split("a:1.0")
    with pytest.raises(dpkg.DpkgVersionError):
        dpkg.split("abc")


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
def test_dpkg_beside_the_real_dpkg() -> None:
    pool = [*DPKG_SORTED, "1.0-1~bpo1", "1:0", "1.0+~1", "1.0-a", "1.0-10", "1.0-9", "10.0~b2"]
    for a, b in itertools.combinations(pool, 2):
        real = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
        assert (dpkg.compare(a, b) < 0) == real, (a, b)


APK_SORTED = [
    "1.0_alpha",
    "1.0_alpha2",
    "1.0_beta",
    "1.0_pre1",
    "1.0_rc1",
    "1.0",
    "1.0-r1",
    "1.0-r10",
    "1.0_p1",
    "1.0a",
    "1.0.1",
    "1.2.4-r1",
    "1.10",
    "2.0_git20230101",
]


def test_apk_sorted_list_in_order() -> None:
    for a, b in itertools.pairwise(APK_SORTED):
        assert apk.compare(a, b) < 0, (a, b)
        assert apk.compare(b, a) > 0, (b, a)
    assert apk.compare("3.1.2-r0", "3.1.2-r0") == 0
    with pytest.raises(apk.ApkVersionError):
        apk.compare("x1", "1")


@pytest.mark.parametrize(
    ("eco", "a", "b", "want"),
    [
        ("PyPI", "1.0", "1.0.0", 0),
        ("PyPI", "2.0rc1", "2.0", -1),
        ("PyPI", "1.0.post1", "1.0", 1),
        ("PyPI", "1!0.1", "2.0", 1),
        ("npm", "1.2.3-beta.2", "1.2.3-beta.10", -1),
        ("npm", "4.17.20", "4.17.21", -1),
        ("Go", "v1.2.3", "1.2.3", 0),
        ("Go", "v0.0.0-20230101000000-abcdef123456", "v0.1.0", -1),
        ("Debian:12", "1.0~rc1", "1.0", -1),
        ("Alpine:v3.18", "1.2.4-r1", "1.2.4-r2", -1),
    ],
)
def test_compare_by_ecosystem(eco: str, a: str, b: str, want: int) -> None:
    got = versions.compare(eco, a, b)
    assert (got > 0) - (got < 0) == want


def test_unknown_ecosystem_and_bad_versions_raise() -> None:
    with pytest.raises(versions.VersionError):
        versions.compare("Maven", "1", "2")
    with pytest.raises(versions.VersionError):
        versions.compare("PyPI", "not a version", "1.0")
    with pytest.raises(versions.VersionError):
        versions.compare("Go", "(devel)", "1.0.0")


def test_apk_beside_univers() -> None:
    """univers (an independent implementation) agrees wherever it accepts both versions."""
    from univers.versions import AlpineLinuxVersion

    pool = [*APK_SORTED, "1.01", "1.001", "1.0.01", "0.9.12b_p1-r3", "1.0_rc10", "1.0_rc2-r1", "2"]
    compared = 0
    for a, b in itertools.combinations(pool, 2):
        try:
            ua, ub = AlpineLinuxVersion(a), AlpineLinuxVersion(b)
        except Exception:  # univers does not know every apk suffix (_git)
            continue
        want = (ua > ub) - (ua < ub)
        got = apk.compare(a, b)
        assert (got > 0) - (got < 0) == want, (a, b)
        compared += 1
    assert compared > 150


_dpkg_version = st.from_regex(r"\A([0-9]:)?[0-9][0-9a-z.+~]{0,6}(-[0-9a-z.+~]{1,4})?\Z")


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
@settings(max_examples=60, deadline=None)
@given(_dpkg_version, _dpkg_version)
def test_dpkg_random_versions_beside_the_real_dpkg(a: str, b: str) -> None:
    real_lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
    real_eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b]).returncode == 0
    got = dpkg.compare(a, b)
    assert (got < 0, got == 0) == (real_lt, real_eq), (a, b)
