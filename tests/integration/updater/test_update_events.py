"""An image update emits UpdateCommitted once per config commit; a pass with nothing to
change emits nothing, and an update that cannot resolve its image emits UpdateFailed."""

from __future__ import annotations

import uuid

import pytest
from updater_helpers import application, push_image, seed_config_repo

from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store_resources
from shipway.store.db import open_store
from shipway.updater import engine
from shipway.updater.webhooks import PushEvent

pytestmark = pytest.mark.integration


def test_update_events(registry, git_server, tmp_path, shipway_home):  # type: ignore[no-untyped-def]
    u = uuid.uuid4().hex[:8]
    repo_name, url = f"demo/ev-{u}", git_server.bare(f"config-ev-{u}")
    seed_config_repo(url, tmp_path / "seed")
    push_image(RegistryClient(registry.host), repo_name, "1.0", created="2026-01-01T00:00:00Z")
    store = open_store(Settings())
    image = f"{registry.host}/{repo_name}"
    store_resources.apply(store, parse_text(application("ev-dev", image, url), "app.yaml"))
    work = tmp_path / "work"

    [res] = engine.on_push(store, [PushEvent(repo_name, "1.0", None, registry.host)], workdir=work)
    assert res.config_commit and res.error is None
    engine.run_once(store, workdir=work)  # nothing to change
    found = store_events.query(store, kind="Application", name="ev-dev")
    assert [(e.reason, e.count) for e in found] == [("UpdateCommitted", 1)]
    assert res.config_commit[:12] in found[0].message and "1.0" in found[0].message
    assert found[0].source == "image-updater"

    missing = f"{registry.host}/demo/absent-{u}"
    store_resources.apply(store, parse_text(application("ev-bad", missing, url), "bad.yaml"))
    engine.run_once(store, workdir=work)
    bad = store_events.query(store, kind="Application", name="ev-bad")
    assert [(e.reason, e.type) for e in bad] == [("UpdateFailed", "Warning")]
    store.close()
