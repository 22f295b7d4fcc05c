"""Registry webhook payloads, as each service documents them, with their auth checks."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from shipway.model.errors import InputError
from shipway.updater import webhooks
from shipway.updater.webhooks import PushEvent, WebhookAuthError

D = "sha256:" + "b" * 64


def _distribution() -> bytes:
    manifest = "application/vnd.oci.image.manifest.v1+json"
    return json.dumps(
        {
            "events": [
                {
                    "id": "1",
                    "action": "push",
                    "target": {"mediaType": "application/octet-stream", "repository": "demo/hello",
                               "digest": "sha256:" + "c" * 64},
                    "request": {"host": "127.0.0.1:5000"},
                },
                {
                    "id": "2",
                    "action": "push",
                    "target": {"mediaType": manifest, "repository": "demo/hello", "digest": D,
                               "tag": "1.2.0", "url": "http://h/v2/demo/hello/manifests/" + D},
                    "request": {"host": "127.0.0.1:5000", "method": "PUT"},
                },
                {"id": "3", "action": "pull",
                 "target": {"mediaType": manifest, "repository": "demo/hello"}},
            ]
        }
    ).encode()  # fmt: skip


def test_distribution_keeps_manifest_pushes_only() -> None:
    headers = {"Content-Type": webhooks.DISTRIBUTION_TYPE, "Authorization": "Bearer s3"}
    events = webhooks.parse(_distribution(), headers, secret="s3")
    assert events == [
        PushEvent("demo/hello", "1.2.0", D, "127.0.0.1:5000",
                  "application/vnd.oci.image.manifest.v1+json", "distribution")
    ]  # fmt: skip
    assert events[0].image == "127.0.0.1:5000/demo/hello"
    with pytest.raises(WebhookAuthError):
        webhooks.parse(_distribution(), {"Content-Type": webhooks.DISTRIBUTION_TYPE}, secret="s3")


def test_ghcr_package_event_with_signature() -> None:
    body = json.dumps(
        {
            "action": "published",
            "package": {
                "name": "App",
                "namespace": "Org",
                "package_type": "CONTAINER",
                "package_version": {
                    "version": D,
                    "container_metadata": {"tag": {"name": "v2", "digest": D}},
                },
                "registry": {"url": "https://ghcr.io"},
            },
        }
    ).encode()
    sig = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    events = webhooks.parse(
        body, {"X-GitHub-Event": "package", "X-Hub-Signature-256": sig}, secret="k"
    )
    assert events == [PushEvent("org/app", "v2", D, "ghcr.io", "", "ghcr")]
    with pytest.raises(WebhookAuthError):
        webhooks.parse(
            body, {"X-GitHub-Event": "package", "X-Hub-Signature-256": "sha256=00"}, secret="k"
        )


def test_harbor_push_artifact() -> None:
    body = json.dumps(
        {
            "type": "PUSH_ARTIFACT",
            "event_data": {
                "resources": [
                    {"digest": D, "tag": "v1", "resource_url": "harbor.example.com/lib/app:v1"}
                ],
                "repository": {"name": "app", "namespace": "lib", "repo_full_name": "lib/app"},
            },
        }
    ).encode()
    events = webhooks.parse(body, {"Authorization": "tok"}, secret="tok")
    assert events == [PushEvent("lib/app", "v1", D, "harbor.example.com", "", "harbor")]
    with pytest.raises(WebhookAuthError):
        webhooks.parse(body, {"Authorization": "nope"}, secret="tok")


def test_dockerhub_and_quay_use_a_token_in_the_url() -> None:
    hub = json.dumps({"push_data": {"tag": "3"}, "repository": {"repo_name": "nginx"}}).encode()
    assert webhooks.parse(hub, {}, secret="t", query={"token": "t"}) == [
        PushEvent("library/nginx", "3", None, "docker.io", "", "dockerhub")
    ]
    with pytest.raises(WebhookAuthError):
        webhooks.parse(hub, {}, secret="t", query={})
    quay = json.dumps({"docker_url": "quay.io/org/repo", "updated_tags": ["a", "b"]}).encode()
    assert [e.tag for e in webhooks.parse(quay, {})] == ["a", "b"]


def test_unknown_or_broken_payloads() -> None:
    with pytest.raises(InputError):
        webhooks.parse(b"{}", {})
    with pytest.raises(InputError):
        webhooks.parse(b"not json", {})
