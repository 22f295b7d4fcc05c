"""Kyverno verifyImages verdicts are cached by digest and rule content (real registry).

What the gate asks the registry is counted with the client's own request counter: a
cached pass asks only for the tag's digest (or nothing at all for a pinned image, even
from another process's cache file), a failure is checked again next time, another rule
(another key) is not the cached verdict, and an expired entry is verified again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from security_images import push_image
from shipway.images.registry import RegistryClient
from shipway.model import kyverno
from shipway.security.policy import imagegate
from shipway.security.sign import keys, service

pytestmark = pytest.mark.integration


def rule(host: str, pub: Path) -> kyverno.VerifyImages:
    return kyverno.VerifyImages.model_validate(
        {
            "imageReferences": [f"{host}/cache/*"],
            "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()}}]}],
        }
    )


def test_passing_verdicts_are_cached_by_digest_and_rule(
    registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, pub = keys.generate(tmp_path / "team")
    _, other_pub = keys.generate(tmp_path / "other")
    clients: list[RegistryClient] = []

    def client_for(host: str) -> RegistryClient:
        clients.append(RegistryClient(host))
        return clients[-1]

    def check(image: str, verify: kyverno.VerifyImages, cache: imagegate.VerifyCache | None,
              ) -> tuple[str, bool, str, int | None]:  # fmt: skip
        """The verdict, and how many requests the registry got (None: no client made)."""
        made = len(clients)
        digest, ok, msg = imagegate.check_image(
            image, verify, what="test", cache=cache, client_for=client_for
        )
        return digest, ok, msg, clients[-1].requests if len(clients) > made else None

    tag = f"{registry.host}/cache/web:v1"
    digest = push_image(registry.host, "cache/web", "v1", b"cached")
    with RegistryClient(registry.host) as client:
        service.sign(client, service.resolve(client, tag), keys.load_signer(key))
    verify = rule(registry.host, pub)
    path = tmp_path / "cache" / "image-verify.sqlite"
    cache = imagegate.VerifyCache(path)

    assert check(tag, verify, None)[:3] == (digest, True, "verified: signature")
    _, _, _, uncached = check(tag, verify, None)
    assert check(tag, verify, cache)[:3] == (digest, True, "verified: signature")
    _, ok, _, cached = check(tag, verify, cache)
    assert ok and cached is not None and uncached is not None
    assert cached < uncached, "a cached pass only resolves the tag"
    # pinned, from the cache file another process wrote: the registry is not asked at all
    other_process = imagegate.VerifyCache(path)
    assert check(f"{registry.host}/cache/web@{digest}", verify, other_process) == (
        digest, True, "verified: signature", None)  # fmt: skip
    # another rule (another key) is not that verdict
    _, ok, msg, _ = check(tag, rule(registry.host, other_pub), other_process)
    assert not ok and "signature" in msg
    # an expired entry is verified again
    _, ok, _, expired = check(tag, verify, imagegate.VerifyCache(path, ttl=0))
    assert ok and expired == uncached

    # a failure is not kept: once signed, the next check passes with the same cache
    fresh = f"{registry.host}/cache/new:v1"
    push_image(registry.host, "cache/new", "v1", b"unsigned first")
    _, ok, msg, _ = check(fresh, verify, cache)
    assert not ok and "no signatures found" in msg
    with RegistryClient(registry.host) as client:
        service.sign(client, service.resolve(client, fresh), keys.load_signer(key))
    assert check(fresh, verify, cache)[1:3] == (True, "verified: signature")


def test_attestor_annotations_must_be_in_a_verified_signature(
    registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    key, pub = keys.generate(tmp_path / "team")
    image = f"{registry.host}/cache/annotated:v1"
    push_image(registry.host, "cache/annotated", "v1", b"annotated")
    with RegistryClient(registry.host) as client:  # cosign sign -a env=prod
        target = service.resolve(client, image)
        service.sign(client, target, keys.load_signer(key), {"env": "prod"})

    def entry_with(annotations: dict[str, str]) -> kyverno.VerifyImages:
        return kyverno.VerifyImages.model_validate({
            "imageReferences": [f"{registry.host}/cache/*"],
            "attestors": [{"entries": [{"keys": {"publicKeys": pub.read_text()},
                                        "annotations": annotations}]}],
        })  # fmt: skip

    for wanted, passes in (({"env": "prod"}, True), ({}, True), ({"env": "dev"}, False),
                           ({"env": "prod", "team": "web"}, False)):  # fmt: skip
        _, ok, msg = imagegate.check_image(image, entry_with(wanted), what="t", cache=None)
        assert ok is passes, (wanted, msg)
        if not passes:
            assert f"no verified signature has the annotations {wanted}" in msg


def test_several_keys_in_one_public_keys_are_separate_entries_count_across_them(
    registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SIGNING_PASSWORD", "pw")
    team_key, team_pub = keys.generate(tmp_path / "team")
    _, ops_pub = keys.generate(tmp_path / "ops")
    image = f"{registry.host}/cache/two-keys:v1"
    push_image(registry.host, "cache/two-keys", "v1", b"two keys")
    with RegistryClient(registry.host) as client:
        service.sign(client, service.resolve(client, image), keys.load_signer(team_key))
    both = ops_pub.read_text() + team_pub.read_text()  # the signing key second

    def with_count(count: int | None) -> kyverno.VerifyImages:
        attestor: dict[str, Any] = {"entries": [{"keys": {"publicKeys": both}}]}
        if count is not None:
            attestor["count"] = count
        return kyverno.VerifyImages.model_validate(
            {"imageReferences": [f"{registry.host}/cache/*"], "attestors": [attestor]}
        )

    _, ok, _ = imagegate.check_image(image, with_count(1), what="t", cache=None)
    assert ok, "one of the two keys signed it"
    _, ok, msg = imagegate.check_image(image, with_count(None), what="t", cache=None)
    assert not ok and "1 of 2 required signatures verified" in msg and "entry 0 key 0" in msg
