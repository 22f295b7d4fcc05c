"""The pure parts of previews: names and slugs, durations and expiry, the one comment's text,
which ApplicationSets are preview sets and what their generators ask for."""

from __future__ import annotations

import datetime as dt

import pytest

from shipway.deploy import preview_ports
from shipway.model.errors import InputError
from shipway.model.preview import (
    Expiry,
    Preview,
    dns_label,
    is_preview_set,
    parse_duration,
    preview_name,
)
from shipway.promote.previews import report, source

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _preview(**kw: object) -> Preview:
    base = dict(name="web-pr-7", appset_namespace="argocd", appset="web", number=7,
                forge="github", project="org/web", api="http://forge", branch="Feature/X",
                target_branch="main", head_sha="0123456789abcdef" * 2 + "01234567",
                created=T0, updated=T0)  # fmt: skip
    base.update(kw)
    return Preview(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Feature/Login_Page", "feature-login-page"),
        ("--weird__NAME--", "weird-name"),
        ("日本", "x"),
        ("a" * 80, "a" * 56 + "-" + dns_label("a" * 80)[-6:]),
    ],
)
def test_dns_label(text: str, want: str) -> None:
    got = dns_label(text)
    assert got == want and len(got) <= 63


def test_preview_names_are_dns_labels_even_for_long_sets() -> None:
    assert preview_name("web", 12) == "web-pr-12"
    long = preview_name("x" * 100, 123456)
    assert len(long) <= 63 and long.endswith("-pr-123456")
    assert preview_name("y" * 100, 1) != preview_name(
        "y" * 99 + "z", 1
    )  # the hash keeps them apart


@pytest.mark.parametrize(("text", "secs"), [("90s", 90), ("30m", 1800), ("72h", 259200),
                                            ("7d", 604800), ("1h30m", 5400)])  # fmt: skip
def test_durations(text: str, secs: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=secs)


@pytest.mark.parametrize("text", ["", "3", "1w", "h", "5 m", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_expiry_ttl_from_creation_idle_from_last_push() -> None:
    rule = Expiry(ttl=dt.timedelta(hours=72), idle=dt.timedelta(hours=24))
    p = _preview(updated=T0 + dt.timedelta(hours=60))
    assert rule.deadline(T0, T0 + dt.timedelta(hours=60)) == T0 + dt.timedelta(hours=72)
    assert rule.why(p, T0 + dt.timedelta(hours=71)) == ""
    assert "time-to-live of 3d" in rule.why(p, T0 + dt.timedelta(hours=72))
    idle = _preview(updated=T0 + dt.timedelta(hours=1))
    assert "no push for 24h" in rule.why(idle, T0 + dt.timedelta(hours=25))
    assert Expiry().why(p, T0 + dt.timedelta(days=999)) == ""
    assert Expiry().deadline(T0, T0) is None


def test_expiry_annotations_and_their_errors() -> None:
    body = {"metadata": {"name": "web", "annotations": {source.TTL_ANNOTATION: "2d"}}}
    assert source.expiry(body) == Expiry(ttl=dt.timedelta(days=2))
    body["metadata"]["annotations"][source.IDLE_ANNOTATION] = "soon"  # type: ignore[index]
    with pytest.raises(InputError, match=r"ApplicationSet/web: shipway\.dev/preview-idle"):
        source.expiry(body)


def test_preview_sets_and_their_generators() -> None:
    body = {
        "metadata": {"name": "web", "annotations": {"shipway.dev/previews": "true"}},
        "spec": {"generators": [
            {"list": {"elements": []}},
            {"pullRequest": {"github": {"owner": "org", "repo": "web", "api": "https://ghe.corp",
                                        "tokenRef": {"secretName": "t", "key": "k"}},
                             "requeueAfterSeconds": 60}},
            {"pullRequest": {"gitlab": {"project": "grp/sub/web", "insecure": True}}},
        ]},
    }  # fmt: skip
    assert is_preview_set(body) and not is_preview_set({"metadata": {"name": "x"}})
    gh, gl = source.sources(body)
    assert (gh.index, gh.provider, gh.project, gh.api) == (1, "github", "org/web",
                                                           "https://ghe.corp/api/v3")  # fmt: skip
    assert gh.token_ref == {"secretName": "t", "key": "k"} and gh.requeue_seconds == 60
    assert (gl.provider, gl.project, gl.api) == ("gitlab", "grp/sub/web",
                                                 "https://gitlab.com/api/v4")  # fmt: skip
    assert gl.requeue_seconds == 1800  # Argo CD's default
    assert gl.insecure and not gh.insecure
    with pytest.raises(InputError, match=r"generators\[0\].pullRequest: give one of"):
        source.sources({"metadata": {"name": "b"},
                        "spec": {"generators": [{"pullRequest": {"bitbucket": {}}}]}})  # fmt: skip


def test_the_one_comment_says_the_state_and_carries_its_marker() -> None:
    ready = _preview(phase="Ready", preview_url="http://127.0.0.1:29001/",
                     applications=["web-feature-x-7"], image="reg/web:01234567",
                     deployed_sha="0123456789abcdef",
                     expires=T0 + dt.timedelta(days=3))  # fmt: skip
    text = report.comment_body(ready)
    assert text.startswith(report.marker("web-pr-7"))
    assert "Ready at http://127.0.0.1:29001/" in text and "`0123456`" in text
    assert "`web-feature-x-7`" in text and "reg/web:01234567" in text
    assert "Expires: 2026-12-04T12:00:00Z" in text
    failed = report.comment_body(_preview(phase="Failed", message="image not found"))
    assert "Failed for commit `0123456`: image not found" in failed
    gone = report.comment_body(_preview(phase="Deleting", message="the pull request was closed"))
    assert "Removed: the pull request was closed" in gone and "Expires" not in gone


def test_published_service_ports_in_manifest_order() -> None:
    svc = {"kind": "Service", "metadata": {"name": "web", "namespace": "pr-1"},
           "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}}  # fmt: skip
    cluster_ip = {"kind": "Service", "metadata": {"name": "db"}, "spec": {"ports": [{"port": 5}]}}
    found = preview_ports.published([cluster_ip, svc])
    assert [k for _, k in found] == ["Service/pr-1/web:80", "Service/pr-1/web:443"]
    assert preview_ports.preview_of({"metadata": {"annotations": {preview_ports.ANNOTATION: "p"}}})
    assert preview_ports.preview_of({"metadata": {}}) == ""


@pytest.mark.parametrize("raw", ["x", "10-20", "70000-70001", "3000-2000"])
def test_bad_port_ranges(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_PREVIEW_PORTS", raw)
    with pytest.raises(InputError, match="SHIPWAY_PREVIEW_PORTS"):
        preview_ports.port_range()
