"""Tag lookups for mutateDigest pins: a registry that is down, answers kept for a TTL, forget.

The registry answering is in ``tests/integration/deploy/test_mutate_digest.py``; here the
registry is a loopback port nothing listens on (a real connection refused).
"""

from __future__ import annotations

import pytest

from shipway.deploy import digest_lookup
from shipway.images.registry import RegistryClient
from shipway.model.errors import InputError, RegistryError
from shipway.runtime import ports

D1 = "sha256:" + "1" * 64


def _no_wait(host: str) -> RegistryClient:
    return RegistryClient(host, retries=1, sleep=lambda _s: None)


def test_a_registry_down_is_asked_once_per_pass_and_again_the_next_pass() -> None:
    host = f"127.0.0.1:{ports.free_port()}"
    with digest_lookup.Lookups(client_for=_no_wait) as lookups:
        with pytest.raises(RegistryError, match="cannot reach"):
            lookups.digest(f"{host}/app:1")
        assert lookups.requests == 2, "one retry"
        with pytest.raises(RegistryError, match="not asked again in this pass") as second:
            lookups.digest(f"{host}/other:1")
        assert second.value.subject == f"{host}/other:1"
        with pytest.raises(RegistryError, match="cannot reach"):
            lookups.digest(f"{host}/app:1")
        assert lookups.requests == 2, "the pass does not ask that registry again"
        assert lookups.failed(f"{host}/app:1")
    with digest_lookup.Lookups(client_for=_no_wait) as next_pass:
        with pytest.raises(RegistryError):
            next_pass.digest(f"{host}/app:1")
        assert next_pass.requests == 2, "a failure is never kept: the next pass asks"


def test_answers_are_kept_for_the_ttl_and_a_push_forgets_them() -> None:
    digest_lookup.forget()
    now = [100.0]
    asked: list[str] = []

    def unreachable(host: str) -> RegistryClient:
        asked.append(host)
        return _no_wait(f"127.0.0.1:{ports.free_port()}")

    def lookups() -> digest_lookup.Lookups:
        return digest_lookup.Lookups(60, client_for=unreachable, clock=lambda: now[0])

    with lookups() as sync:  # what a sync resolved and verified
        sync.learn({"reg.local/app:2": f"reg.local/app:2@{D1}"})
    with lookups() as later:
        assert later.digest("reg.local/app:2") == D1
        assert (later.requests, asked) == (0, [])
    now[0] += 61
    with lookups() as expired, pytest.raises(RegistryError):
        expired.digest("reg.local/app:2")
    assert asked == ["reg.local"]

    with lookups() as sync:
        sync.learn({"reg.local/app:2": f"reg.local/app:2@{D1}"})
    digest_lookup.forget("reg.local/other")
    with lookups() as kept:
        assert kept.digest("reg.local/app:2") == D1
    digest_lookup.forget("reg.local/app")  # the repository a registry notification names
    with lookups() as forgotten, pytest.raises(RegistryError):
        forgotten.digest("reg.local/app:2")
    with digest_lookup.Lookups(0, client_for=unreachable) as no_ttl:
        no_ttl.learn({"reg.local/app:2": f"reg.local/app:2@{D1}"})
        assert no_ttl.digest("reg.local/app:2") == D1, "within one pass, always"


def test_the_ttl_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPWAY_DIGEST_TTL", raising=False)
    assert digest_lookup.ttl_from_env() == digest_lookup.DEFAULT_TTL
    monkeypatch.setenv("SHIPWAY_DIGEST_TTL", "0")
    assert digest_lookup.ttl_from_env() == 0
    monkeypatch.setenv("SHIPWAY_DIGEST_TTL", "soon")
    with pytest.raises(InputError, match="SHIPWAY_DIGEST_TTL: 'soon' is not a number"):
        digest_lookup.ttl_from_env()
