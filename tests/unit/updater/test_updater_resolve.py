"""Resolver rules that a real registry cannot be made to show on demand.

The stand-in implements ``resolve.RegistryAPI`` (the protocol ``RegistryClient``
is type-checked against); everything else is exercised against the real
registry in tests/integration/updater.
"""

from __future__ import annotations

from typing import Any

from shipway.model.resources import parse_text
from shipway.updater import resolve, targets
from shipway.updater.webhooks import PushEvent

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
P = "argocd-image-updater.argoproj.io/"


class Lagging:
    """A registry whose tag listing has not caught up with the newest push yet."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def list_tags(self, repository: str, page_size: int | None = None) -> list[str]:
        self.calls.append(("list", repository))
        return ["1.0"]

    def head_manifest(self, repository: str, reference: str) -> str | None:
        self.calls.append(("head", reference))
        return {"1.0": D1, "1.1": D2}.get(reference)

    def get_config(self, repository: str, reference: str) -> dict[str, Any]:
        self.calls.append(("config", reference))
        created = {D1: "2026-01-01T00:00:00Z", D2: "2026-01-02T00:00:00Z"}[reference]
        return {"created": created, "config": {"Labels": {}}}


def _watch() -> targets.Watch:
    text = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: a
  annotations:
    {P}image-list: app=127.0.0.1:5000/demo/a
    {P}app.update-strategy: newest-build
    {P}write-back-method: git
spec:
  source: {{repoURL: "git://h/c.git", path: x}}
  destination: {{server: s}}
"""
    return targets.from_application(parse_text(text, "a.yaml")[0])[0]


def test_a_pushed_tag_counts_before_the_listing_shows_it() -> None:
    fake = Lagging()
    r = resolve.Resolver(lambda host, insecure: fake)
    r.begin_pass([PushEvent("demo/a", "1.1", D2, "127.0.0.1:5000")])
    got = r.resolve(_watch(), trust_cache=True)
    assert (got.tag, got.digest) == ("1.1", D2)
    assert ("head", "1.1") not in fake.calls  # the event's digest was trusted
    r.begin_pass()
    assert r.resolve(_watch()).tag == "1.0"  # a polling pass sees only what is listed


def test_events_for_other_repositories_add_nothing() -> None:
    fake = Lagging()
    r = resolve.Resolver(lambda host, insecure: fake)
    r.begin_pass([PushEvent("demo/b", "9.9", D2, "127.0.0.1:5000")])
    assert r.tags(_watch()) == ["1.0"]
