"""Tag selection: semver ranges and prereleases, filters, orders, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shipway.model.errors import InputError
from shipway.updater.policy import Policy, filter_tags, select, strategy_name
from shipway.updater.policy.select import expand
from shipway.updater.policy.semver import parse_range, parse_version

TAGS = ["1.0.0", "1.2.3", "1.10.0", "2.0.0-rc.1", "v1.9.9", "latest", "1.11.0-alpha", "0.9"]


@pytest.mark.parametrize(
    ("rng", "want"),
    [
        (">=1.0.0", "1.10.0"),
        ("1.x", "1.10.0"),
        ("~1.2", "1.2.3"),
        ("^1.2", "1.10.0"),
        ("<1.5", "1.2.3"),
        (">=1.0.0 <1.10", "v1.9.9"),
        (">=1.0.0, <1.10", "v1.9.9"),
        ("0.x || ~1.0", "1.0.0"),
        ("1.0 - 1.5", "1.2.3"),
        (">=2.0.0-0", "2.0.0-rc.1"),
        (">=1.11.0-0 <1.12", "1.11.0-alpha"),
        ("*", "1.10.0"),
        ("=0.9.0", "0.9"),
        ("!=1.10.0, >1.2 <2", "v1.9.9"),
    ],
)
def test_semver_ranges(rng: str, want: str) -> None:
    assert select(Policy("semver", rng), TAGS).tag == want


def test_prerelease_needs_a_prerelease_comparator() -> None:
    assert select(Policy("semver", ">=1.0.0"), ["1.0.0", "1.1.0-rc.1"]).tag == "1.0.0"
    assert select(Policy("semver", ">=1.0.0-0"), ["1.0.0", "1.1.0-rc.1"]).tag == "1.1.0-rc.1"


def test_version_precedence() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
             "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]  # fmt: skip
    versions = [parse_version(t) for t in order]
    assert all(v is not None for v in versions)
    assert sorted(versions, key=lambda v: v) == versions  # type: ignore[arg-type,return-value]
    assert parse_version("latest") is None


def test_not_semver_tags_are_named_in_the_error() -> None:
    with pytest.raises(InputError) as err:
        select(Policy("semver", ">=1", subject="Application/x"), ["latest", "main"])
    assert "no tag matches" in err.value.message and "latest" in err.value.message
    assert err.value.subject == "Application/x"


def test_bad_range_is_an_input_error() -> None:
    with pytest.raises(InputError):
        parse_range(">=banana")


def test_alphabetical_and_numerical_with_extract() -> None:
    tags = ["main-abc123-1700000005", "main-def456-1700000010", "dev-x-1800000000", "other"]
    pol = Policy("numerical", pattern=r"^main-[a-f0-9]+-(?P<ts>\d+)$", extract="$ts")
    assert select(pol, tags).tag == "main-def456-1700000010"
    desc = Policy("numerical", order="desc", pattern=r"^main-[a-f0-9]+-(?P<ts>\d+)$", extract="$ts")
    assert select(desc, tags).tag == "main-abc123-1700000005"
    assert select(Policy("alphabetical"), ["b", "c", "a"]).tag == "c"
    assert select(Policy("alphabetical", order="desc"), ["b", "c", "a"]).tag == "a"
    rfc = Policy("alphabetical", pattern=r"^RELEASE\.(?P<t>.*)Z$", extract="${t}")
    assert select(rfc, ["RELEASE.2024-01-02T00-00-00Z", "RELEASE.2023-12-31T00-00-00Z"]).key == (
        "2024-01-02T00-00-00"
    )


def test_go_style_expand() -> None:
    import re

    m = re.match(r"(?P<a>x)(y)", "xy")
    assert m is not None
    assert expand("$a-$2-$$-${a}z-$nope", m) == "x-y-$-xz-"


def test_allow_and_ignore() -> None:
    pol = Policy("semver", allow=r"regexp:^1\.", ignore=("1.10.*",))
    assert select(pol, TAGS).tag == "1.2.3"  # v1.9.9 does not start with "1."
    assert [
        c.tag for c in filter_tags(Policy(allow="any", ignore=("latest",)), ["a", "latest"])
    ] == ["a"]
    with pytest.raises(InputError):
        filter_tags(Policy(allow="^1"), ["1"])


def test_newest_build_uses_created_times() -> None:
    created = {
        "a": datetime(2024, 1, 1, tzinfo=UTC),
        "b": datetime(2024, 3, 1, tzinfo=UTC),
        "c": datetime(2024, 2, 1, tzinfo=UTC),
    }
    assert select(Policy("newest-build"), ["a", "b", "c"], created).tag == "b"
    assert select(Policy("newest-build", ignore=("b",)), ["a", "b", "c"], created).tag == "c"
    with pytest.raises(InputError):
        select(Policy("newest-build"), ["a"], {})


def test_digest_follows_one_tag() -> None:
    assert select(Policy("digest", "stable"), ["stable", "1.0"]).tag == "stable"
    with pytest.raises(InputError, match="'stable' not found"):
        select(Policy("digest", "stable"), ["1.0"])


def test_strategy_names_and_aliases() -> None:
    assert strategy_name("latest") == "newest-build"
    assert strategy_name("name") == "alphabetical"
    with pytest.raises(InputError):
        strategy_name("newest")


def test_empty_repository_is_an_error() -> None:
    with pytest.raises(InputError, match="0 tags"):
        select(Policy("alphabetical"), [])


def test_newest_build_tie_prefers_a_specific_tag_over_latest() -> None:
    same = datetime(2024, 1, 1, tzinfo=UTC)
    tags = ["latest", "0a1b2c3", "0a1b2c2"]
    created = {"latest": same, "0a1b2c3": same, "0a1b2c2": datetime(2023, 1, 1, tzinfo=UTC)}
    assert select(Policy("newest-build"), tags, created).tag == "0a1b2c3"
