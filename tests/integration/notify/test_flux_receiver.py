"""Flux Receivers through the controller's HTTP app: Flux's /hook/<digest> path, each type's
check, the forge inbox for github pushes, and Application refreshes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shipway.controller.core import Controller
from shipway.model.resources import Resource, parse_text
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import events, inbox, resources
from shipway.store.db import Store, open_store

TOKEN = "receiver-token-1"


def _digest(name: str, ns: str = "flux-system") -> str:
    return hashlib.sha256(f"{TOKEN}{name}{ns}".encode()).hexdigest()


def _receiver(store: Store, name: str, rtype: str, extra: str = "") -> None:
    resources.apply(store, parse_text(f"""\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {{name: {name}, namespace: flux-system}}
spec:
  type: {rtype}
  secretRef: {{name: webhook-token}}
  resources:
    - {{apiVersion: argoproj.io/v1alpha1, kind: Application, name: '*', namespace: apps,
        matchLabels: {{team: pay}}}}
    - {{kind: ImageRepository, name: web}}{extra}
""", "receiver.yaml"))  # fmt: skip


@pytest.fixture
def setup(shipway_home: Path) -> Iterator[tuple[TestClient, Store]]:
    settings = Settings(home=shipway_home)
    store = open_store(settings)
    secret = shipway_home / "secrets" / "flux-system" / "webhook-token.yaml"
    secret.parent.mkdir(parents=True)
    secret.write_text(json.dumps({"kind": "Secret", "stringData": {"token": TOKEN}}))
    for name, labels in (("pay-api", {"team": "pay"}), ("pay-web", {"team": "pay"}),
                         ("search", {"team": "find"})):  # fmt: skip
        body: dict[str, Any] = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "apps", "labels": labels},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example/a.git"}},
        }
        resources.apply(store, [Resource("argoproj.io/v1alpha1", "Application", name, "apps",
                                         body)])  # fmt: skip
    controller = Controller(settings, store)
    yield TestClient(create_app(controller)), store  # no credential: the path is the credential
    controller.shutdown()


def _reconciles(store: Store) -> list[str]:
    return sorted(str(i["payload"]["app"]) for i in inbox.items(store, "reconcile"))


def test_generic_hmac_receiver(setup: tuple[TestClient, Store]) -> None:
    client, store = setup
    _receiver(store, "hmac", "generic-hmac")
    body = b'{"image": "web:1.2.3"}'
    sig = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    got = client.post(f"/hook/{_digest('hmac')}", content=body, headers={"X-Signature": sig})
    assert got.status_code == 200, got.text
    assert got.json()["refreshed"] == ["apps_pay-api", "apps_pay-web"]  # team=pay only
    assert got.json()["notRefreshed"] == [
        "ImageRepository/web: not refreshed by a Receiver in shipway yet"]  # fmt: skip
    assert _reconciles(store) == ["apps_pay-api", "apps_pay-web"]
    bad = client.post(f"/hook/{_digest('hmac')}", content=body,
                      headers={"X-Signature": "sha256=" + "0" * 64})  # fmt: skip
    assert bad.status_code == 401 and "X-Signature" in bad.text
    unsigned = client.post(f"/hook/{_digest('hmac')}", content=body)
    assert unsigned.status_code == 401
    assert client.post(f"/hook/{_digest('other')}", content=body).status_code == 404
    assert client.post("/hook/not-a-digest", content=body).status_code == 401  # not a hook path
    assert len(_reconciles(store)) == 2
    (ev,) = [e for e in events.query(store, kind="Receiver") if e.reason == "ReceiverTriggered"]
    assert ev.involved.namespace == "flux-system" and "pay-api" in ev.message


def test_generic_and_suspended(setup: tuple[TestClient, Store]) -> None:
    client, store = setup
    _receiver(store, "plain", "generic")
    assert client.post(f"/hook/{_digest('plain')}", content=b"{}").status_code == 200
    _receiver(store, "plain", "generic", extra="\n  suspend: true")
    got = client.post(f"/hook/{_digest('plain')}", content=b"{}")
    assert got.status_code == 503 and "suspended" in got.text


def test_github_receiver_feeds_the_forge_inbox(setup: tuple[TestClient, Store]) -> None:
    client, store = setup
    _receiver(store, "gh", "github", extra="\n  events: [ping, push]")
    push = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "a" * 40,
            "after": "b" * 40,
            "repository": {"clone_url": "https://git.example/a.git"},
        }
    ).encode()
    sig = "sha256=" + hmac.new(TOKEN.encode(), push, hashlib.sha256).hexdigest()
    url = f"/hook/{_digest('gh')}"
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sig}
    got = client.post(url, content=push, headers=headers)
    assert got.status_code == 200, got.text
    assert got.json()["accepted"] is True and got.json()["event"] == "push"
    (item,) = inbox.items(store, "forge")
    assert item["payload"]["event"]["after"] == "b" * 40
    again = client.post(url, content=push, headers=headers)  # the same push told again
    assert again.status_code == 200 and len(inbox.items(store, "forge")) == 1
    forged = client.post(url, content=push, headers={**headers, "X-Hub-Signature-256": "x"})
    assert forged.status_code == 401
    ping = client.post(url, content=b"{}", headers={"X-GitHub-Event": "ping"})
    assert ping.status_code == 200 and ping.json()["event"] == "ping"
    other = client.post(url, content=push, headers={**headers, "X-GitHub-Event": "release"})
    assert other.status_code == 200 and other.json()["ignored"] is True
