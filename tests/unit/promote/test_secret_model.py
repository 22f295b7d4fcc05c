"""Secrets as shipway reads them: the API server's stored form, the redacted form output
shows, and Kargo's precedence among credential Secrets."""

from __future__ import annotations

import base64

import pytest

from shipway.model.errors import ResourceError
from shipway.model.resources import parse_text
from shipway.model.secrets import REDACTED, decoded, match_credentials, redacted
from shipway.promote.freight import normalize_git_url


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_string_data_is_folded_into_data_as_the_api_server_does() -> None:
    [res] = parse_text(f"""\
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: p, labels: {{kargo.akuity.io/cred-type: helm}}}}
data: {{username: {_b64("old")}, extra: {_b64("x")}}}
stringData: {{username: alice, password: pw}}
""", "s.yaml")  # fmt: skip
    assert res.namespace == "p" and res.kind == "Secret"
    assert res.body["type"] == "Opaque" and "stringData" not in res.body
    assert decoded(res.body) == {"username": "alice", "password": "pw", "extra": "x"}
    shown = res.to_object()
    assert "data" not in shown
    assert shown["stringData"] == {"extra": REDACTED, "password": REDACTED, "username": "alice"}


def test_last_applied_annotation_is_redacted_too() -> None:
    obj = {"kind": "Secret", "metadata": {"name": "s", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": '{"stringData":{"password":"pw"}}',
        "note": "kept"}}, "data": {"password": _b64("pw")}}  # fmt: skip
    out = redacted(obj)
    notes = out["metadata"]["annotations"]
    assert notes["note"] == "kept" and "pw" not in str(out)


def test_a_namespace_name_must_be_a_dns_label() -> None:
    with pytest.raises(ResourceError, match=r"n\.yaml:4:3: .*not a DNS label"):
        parse_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", "n.yaml")
    [ns] = parse_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n", "n.yaml")
    assert ns.namespace == "" and ns.name == "team-a"


def test_bad_keys_and_values_are_named() -> None:
    with pytest.raises(ResourceError) as err:
        parse_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                   "data: {'a b': eA==, ok: '!!'}\n", "s.yaml")  # fmt: skip
    text = str(err.value)
    assert "'a b'" in text and "data.ok" in text and "illegal base64" in text


REPO = "https://github.com/example/kargo-demo.git"


def test_exact_matches_come_before_patterns_whatever_the_names() -> None:
    found = match_credentials(
        [("a-pattern", {"repoURL": "^https://github.com/", "repoURLIsRegex": "true"}),
         ("z-exact", {"repoURL": "https://github.com/example/kargo-demo"})],
        REPO, normalize_git_url,
    )  # fmt: skip
    assert found is not None and found[0] == "z-exact"


def test_among_equals_the_first_name_wins_and_bad_patterns_match_nothing() -> None:
    secrets = [
        ("b", {"repoURL": "^https://github.com/example/", "repoURLIsRegex": "true"}),
        ("a", {"repoURL": "(", "repoURLIsRegex": "true"}),
        ("c", {"repoURL": "github.com", "repoURLIsRegex": "TRUE"}),
    ]
    found = match_credentials(secrets, REPO, normalize_git_url)
    assert found is not None and found[0] == "b"
    assert match_credentials(secrets, "https://gitlab.com/x/y.git", normalize_git_url) is None
    assert match_credentials([("d", {"repoURL": REPO})], REPO + "/other") is None
