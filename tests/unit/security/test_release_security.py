"""The policy gates' summary lands on the release record and in `release get`."""

from __future__ import annotations

from shipway.cli.release import timeline
from shipway.model.release import Release


def test_security_round_trips_and_is_shown() -> None:
    rel = Release(id="r1", app="web", commit="c" * 40)
    rel.security["policy"] = {
        "images": {
            "reg/web:1": {
                "digest": "sha256:ab",
                "verified": True,
                "by": ["p/r: verified"],
                "deployed": "reg/web:1@sha256:ab",
            },
            "reg/db:2": {"digest": "sha256:cd", "verified": True, "by": ["p/r: verified"]},
        },
        "findings": {"warning": 2},
        "refused": "",
    }
    again = Release.from_dict(rel.to_dict())
    assert again.security == rel.security
    text = timeline(again)
    assert "signature      reg/web:1: verified (p/r: verified)" in text
    assert "policy         2 warning" in text
    assert "deployed       reg/web:1@sha256:ab" in text  # the digest mutateDigest applied
    assert text.count("deployed       ") == 1
    assert "refused" not in text
    assert Release.from_dict({**rel.to_dict(), "security": None}).security == {}
