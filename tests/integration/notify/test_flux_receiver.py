"""Flux Receivers through the controller's HTTP app: Flux's /hook/<digest> path, each type's
check, the forge inbox for github pushes, and Application refreshes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.testclient import TestClient

from shipway.controller.core import Controller
from shipway.model.errors import ResourceError
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


def test_resource_filters_in_cel_choose_the_applications(setup: tuple[TestClient, Store]) -> None:
    """receivers.md's resourceFilter (``req`` the body, ``res`` each matched resource) and an
    entry's own ``filter``, both CEL, both must hold; one that cannot be evaluated is a 400
    naming it; a bad expression is refused at apply."""
    client, store = setup
    resources.apply(store, parse_text("""\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: filtered, namespace: flux-system}
spec:
  type: generic
  secretRef: {name: webhook-token}
  resourceFilter: req.tag.split('/').last().value().split(':').first().value() == res.metadata.name
  resources:
    - apiVersion: argoproj.io/v1alpha1
      kind: Application
      name: '*'
      namespace: apps
      filter: res.metadata.labels['team'] == 'pay'
""", "receiver.yaml"))  # fmt: skip
    got = client.post(f"/hook/{_digest('filtered')}", content=b'{"tag": "reg/pay-web:1.2"}')
    assert got.status_code == 200, got.text
    assert got.json()["refreshed"] == ["apps_pay-web"]
    none = client.post(f"/hook/{_digest('filtered')}", content=b'{"tag": "reg/search:1"}')
    assert none.json()["refreshed"] == []  # search's team is not pay
    bad = client.post(f"/hook/{_digest('filtered')}", content=b'{"image": "x"}')
    assert bad.status_code == 400 and "resourceFilter" in bad.text
    assert _reconciles(store) == ["apps_pay-web"]
    with pytest.raises(ResourceError, match="resourceFilter: Value error, not a CEL"):
        parse_text("""\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: broken, namespace: flux-system}
spec:
  type: generic
  secretRef: {name: webhook-token}
  resourceFilter: "req.tag.contains("
  resources: [{kind: Application, name: '*'}]
""", "broken.yaml")  # fmt: skip


def test_status_webhook_path_is_published_and_serves(setup: tuple[TestClient, Store]) -> None:
    """receivers.md: ``.status.webhookPath`` is the path to give the sender, with a Ready
    condition; a Receiver whose Secret is missing says so instead; written once."""
    from shipway.notify import flux_receiver_status, worker

    client, store = setup
    _receiver(store, "published", "generic")
    resources.apply(store, parse_text("""\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: no-secret, namespace: flux-system}
spec:
  type: generic
  secretRef: {name: missing-token}
  resources: [{kind: Application, name: '*', namespace: apps}]
""", "receiver.yaml"))  # fmt: skip
    worker.run_pass(store, secrets={})
    got = resources.find(store, "Receiver", "published", "flux-system")
    assert got is not None and got.status["webhookPath"] == f"/hook/{_digest('published')}"
    (ready,) = got.status["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Succeeded")
    assert ready["message"] == f"Receiver initialized for path: /hook/{_digest('published')}"
    assert ready["lastTransitionTime"].endswith("Z")
    assert client.post(got.status["webhookPath"], content=b"{}").status_code == 200
    broken = resources.find(store, "Receiver", "no-secret", "flux-system")
    assert broken is not None and "webhookPath" not in broken.status
    (cond,) = broken.status["conditions"]
    assert (cond["status"], cond["reason"]) == ("False", "TokenNotFound")
    assert "missing-token" in cond["message"]
    assert flux_receiver_status.publish(store) == 0  # unchanged: nothing written again


def _issuer() -> tuple[str, Any, ThreadingHTTPServer]:
    """An OIDC issuer on loopback: its discovery document and JWKS (one RSA key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nums = key.public_key().public_numbers()

    def b64(n: int) -> str:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwk = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": b64(nums.n),
           "e": b64(nums.e)}  # fmt: skip
    state: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            doc = (
                {"issuer": state["url"], "jwks_uri": state["url"] + "/keys"}
                if self.path == "/.well-known/openid-configuration"
                else {"keys": [jwk]}
            )
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state["url"], key, server


def _jwt(key: Any, claims: dict[str, Any]) -> str:
    def enc(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    signed = f"{enc({'alg': 'RS256', 'kid': 'k1', 'typ': 'JWT'})}.{enc(claims)}"
    sig = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signed + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def test_generic_oidc_receiver_as_documented(setup: tuple[TestClient, Store]) -> None:
    """receivers.md's generic-oidc Receiver (variables, validations): a token from the issuer
    with the right claims refreshes; a wrong claim is refused with the validation's message;
    a token signed by another key, for another audience or expired is refused."""
    client, store = setup
    url, key, server = _issuer()
    try:
        resources.apply(store, parse_text(f"""\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {{name: oidc, namespace: flux-system}}
spec:
  type: generic-oidc
  oidcProviders:
    - issuerURL: {url}
      variables:
        - name: owner
          expression: "claims.repository_owner"
        - name: allowedRepos
          expression: "[vars.owner + '/repo-a', vars.owner + '/repo-b']"
      validations:
        - expression: "vars.owner == 'acme-org'"
          message: "wrong org"
        - expression: "claims.repository in vars.allowedRepos"
          message: "repo not in allowlist"
  resources:
    - {{kind: Application, name: '*', namespace: apps, matchLabels: {{team: pay}}}}
""", "oidc.yaml"))  # fmt: skip
        path = "/hook/" + hashlib.sha256(b"oidcflux-system").hexdigest()
        now = int(time.time())
        good = {"iss": url, "aud": "notification-controller", "exp": now + 300, "iat": now,
                "repository_owner": "acme-org", "repository": "acme-org/repo-a"}  # fmt: skip

        def post(claims: dict[str, Any], signer: Any = key) -> Any:
            return client.post(
                path, content=b"{}", headers={"Authorization": f"Bearer {_jwt(signer, claims)}"}
            )

        ok = post(good)
        assert ok.status_code == 200, ok.text
        assert ok.json()["refreshed"] == ["apps_pay-api", "apps_pay-web"]
        wrong_repo = post({**good, "repository": "acme-org/repo-z"})
        assert wrong_repo.status_code == 401 and "repo not in allowlist" in wrong_repo.text
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert "signature" in post(good, other).text
        assert "audience" in post({**good, "aud": "someone-else"}).text
        assert "expired" in post({**good, "exp": now - 600}).text
        assert client.post(path, content=b"{}").status_code == 401  # no token at all
        # a token is read before its signature is checked: hostile claims are refused plainly
        deep = base64.urlsafe_b64encode(b"[" * 50_000 + b"]" * 50_000).rstrip(b"=").decode()
        for forged in (f"e30.{deep}.c2ln", "e30.WzEsMl0.c2ln"):  # nested 50,000 deep; a list
            resp = client.post(path, content=b"{}", headers={"Authorization": f"Bearer {forged}"})
            assert resp.status_code == 401 and "not a JWT" in resp.text, resp.text
        assert len(_reconciles(store)) == 2
    finally:
        server.shutdown()
        server.server_close()


def _registry_receiver(store: Store, name: str, rtype: str) -> None:
    resources.apply(store, parse_text(f"""\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {{name: {name}, namespace: flux-system}}
spec:
  type: {rtype}
  secretRef: {{name: webhook-token}}
  resources:
    - {{kind: ImageRepository, name: web}}
""", "receiver.yaml"))  # fmt: skip


HARBOR = json.dumps(
    {
        "type": "PUSH_ARTIFACT",
        "event_data": {
            "resources": [
                {
                    "digest": "sha256:" + "b" * 64,
                    "tag": "v1.4.0",
                    "resource_url": "harbor.example.com/lib/web:v1.4.0",
                }
            ],
            "repository": {"name": "web", "namespace": "lib", "repo_full_name": "lib/web"},
        },
    }
).encode()
HUB = json.dumps({"push_data": {"tag": "2.0"}, "repository": {"repo_name": "acme/web"}}).encode()
QUAY = json.dumps({"docker_url": "quay.io/acme/web", "updated_tags": ["3.1"]}).encode()


def test_registry_receivers_feed_the_image_updater(setup: tuple[TestClient, Store]) -> None:
    """receivers.md's harbor (its Authorization header the token), dockerhub and quay: the
    push goes into the registry inbox the image updater reads, as /hooks/registry's does."""
    client, store = setup
    for name, rtype, body, headers in (("harbor", "harbor", HARBOR, {"Authorization": TOKEN}),
                                       ("hub", "dockerhub", HUB, {}),
                                       ("quay", "quay", QUAY, {})):  # fmt: skip
        _registry_receiver(store, name, rtype)
        got = client.post(f"/hook/{_digest(name)}", content=body, headers=headers)
        assert got.status_code == 200, got.text
        assert got.json()["pushes"] == 1 and got.json()["accepted"] is True
        assert got.json()["notRefreshed"] == [
            "ImageRepository/web: its pushes go to shipway's image updater"]  # fmt: skip
    pushed = sorted(e["repository"] + ":" + e["tag"] for i in inbox.items(store, "registry")
                    for e in i["payload"]["events"])  # fmt: skip
    assert pushed == ["acme/web:2.0", "acme/web:3.1", "lib/web:v1.4.0"]
    images = sorted(e.message for e in events.query(store, kind="Image")
                    if e.reason == "ImagePushed")  # fmt: skip
    assert images == ["docker.io/acme/web:2.0", "harbor.example.com/lib/web:v1.4.0",
                      "quay.io/acme/web:3.1"]  # fmt: skip
    wrong = client.post(f"/hook/{_digest('harbor')}", content=HARBOR,
                        headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert wrong.status_code == 401 and "Harbor Authorization header" in wrong.text
    bad = client.post(f"/hook/{_digest('quay')}", content=b"not json")
    assert bad.status_code == 400
    assert len(inbox.items(store, "registry")) == 3
