"""Fifty previews at once on the podman host: each on its own loopback port (allocated from
the preview range and recorded), all serving, none colliding; closing them frees every port."""

from __future__ import annotations

import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shipway.promote.previews.engine import Previews
from shipway.store import previews as store_previews

pytestmark = [pytest.mark.integration, pytest.mark.slow]
COUNT = 50


def _get(url: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return str(resp.read().decode()).strip()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.timeout(1200)
def test_fifty_previews_each_on_its_own_port(world_factory: Any) -> None:
    w = world_factory("github")
    appset = w.appset()
    sha = w.push_branch("base-feature", "shared")
    w.image(sha)
    w.source.run("push", "-q", "origin", *[f"HEAD:refs/heads/pr-{i}" for i in range(COUNT)])
    numbers = [w.open_pull(f"pr-{i}") for i in range(COUNT)]
    eng = Previews(w.store, w.settings, health_timeout=120)
    actions = eng.refresh(appset)
    assert len(actions) == COUNT and {a.verb for a in actions} == {"deploy"}
    with ThreadPoolExecutor(3) as pool:  # deploys side by side race for ports: none may share
        list(pool.map(eng.run, actions))
    previews = store_previews.list_all(w.store)
    failed = [(p.name, p.message) for p in previews if p.phase != "Ready"]
    assert not failed
    urls = {p.preview_url for p in previews}
    assert len(urls) == COUNT
    held = store_previews.all_ports(w.store)
    assert len(held) == COUNT and all(29000 <= port <= 29999 for port in held)
    for url in sorted(urls):
        assert _get(url) == sha
    assert len(numbers) == COUNT

    for n in numbers:
        w.forge.set_pull(w.kind, w.project, n, state="closed")
    teardowns = eng.refresh(appset)
    assert len(teardowns) == COUNT
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(eng.run, teardowns))
    assert store_previews.list_all(w.store) == [] and store_previews.all_ports(w.store) == {}
