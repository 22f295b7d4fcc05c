"""Reading an Application's policy: durations, backoff, automated flags, sources."""

from __future__ import annotations

import pytest

from shipway.deploy import appspec


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0),
        ("3m", 180.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("250ms", 0.25),
        ("7", 7.0),
        (None, 9.0),
        ("soon", 9.0),
    ],
)
def test_durations(text: str | None, seconds: float) -> None:
    assert appspec.duration(text, 9.0) == seconds


def test_policy_and_backoff() -> None:
    spec = {
        "source": {"repoURL": "r"},
        "syncPolicy": {
            "automated": {"prune": True},
            "syncOptions": ["CreateNamespace=true", "Validate = false"],
            "retry": {"limit": 4, "backoff": {"duration": "2s", "factor": 3, "maxDuration": "10s"}},
        },
    }
    pol = appspec.policy(spec)
    assert pol.automated and pol.prune and not pol.self_heal
    assert pol.option("CreateNamespace") and "Validate=false" in pol.options
    assert [pol.backoff(n) for n in (1, 2, 3)] == [2.0, 6.0, 10.0]
    off = appspec.policy({"syncPolicy": {"automated": {"enabled": False, "prune": True}}})
    assert not off.automated and not off.prune


def test_sources_skip_ref_only_entries() -> None:
    spec = {"sources": [{"repoURL": "a", "path": "x"}, {"repoURL": "b", "ref": "values"}]}
    assert appspec.sources(spec) == [{"repoURL": "a", "path": "x"}]
    assert appspec.namespace({"destination": {"name": "local"}}) == "default"
