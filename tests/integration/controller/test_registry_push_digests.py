"""A registry push notification drops the kept digest answers of the pushed repository.

Real registry and controller workers (no periodic tick): the digest a pass kept for a
``mutateDigest`` pin (``shipway.deploy.digest_lookup``, kept ``SHIPWAY_DIGEST_TTL``) is
asked again at once after the notification, so a moved tag is seen by the next pass.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from security_images import push_image
from shipway.controller.core import Controller
from shipway.deploy import digest_lookup
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store.db import open_store

pytestmark = pytest.mark.integration


def test_a_push_notification_makes_the_next_lookup_ask_the_registry(
    registry: Any, shipway_home: Path
) -> None:
    repo = f"pins/hook-{uuid.uuid4().hex[:8]}"
    image = f"{registry.host}/{repo}:v1"
    old = push_image(registry.host, repo, "v1", b"one")
    other = f"{registry.host}/pins/other:v1"
    with digest_lookup.Lookups(600) as first_pass:
        assert first_pass.digest(image) == old
        first_pass.learn({other: f"{other}@{old}"})
    moved = push_image(registry.host, repo, "v1", b"two")
    with digest_lookup.Lookups(600) as within_ttl:
        assert (within_ttl.digest(image), within_ttl.requests) == (old, 0)

    settings = Settings(home=shipway_home)
    db = open_store(settings)
    controller = Controller(settings, db)
    controller.start_workers()
    try:
        envelope = {"events": [{
            "id": uuid.uuid4().hex, "action": "push", "timestamp": "2026-01-02T00:00:01Z",
            "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "repository": repo, "tag": "v1", "digest": moved},
            "request": {"host": registry.host}}]}  # fmt: skip
        resp = TestClient(create_app(controller)).post(
            "/hooks/registry",
            content=json.dumps(envelope).encode(),
            headers={"Content-Type": "application/vnd.docker.distribution.events.v1+json",
                     "Authorization": f"Bearer {controller.tokens.registry()}"},
        )  # fmt: skip
        assert resp.status_code == 202, resp.text
        assert controller.wait_idle()
    finally:
        controller.shutdown()
        db.close()
    with digest_lookup.Lookups(600) as next_pass:
        assert (next_pass.digest(image), next_pass.requests) == (moved, 1)
        assert (next_pass.digest(other), next_pass.requests) == (old, 1), "another repository"
