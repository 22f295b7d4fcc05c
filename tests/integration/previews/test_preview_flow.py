"""Previews end to end on the podman host, against the forge fake and real git and registry:
open, push, close, expire, restart, a failing preview beside a good one, a forge that refuses
the status. Each step is checked on the forge (the status and the one comment), in the store
and on podman (the pods and the port)."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from typing import Any

import pytest

from shipway.deploy import engine as deploy_engine
from shipway.model.preview import preview_name
from shipway.promote.previews.engine import Previews, run_all
from shipway.store import events as store_events
from shipway.store import previews as store_previews
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def _get(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return str(resp.read().decode()).strip()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except OSError:
        return True
    return False


def _pods(w: Any) -> list[str]:
    target = deploy_engine.local_target(w.settings)
    raw = target.podman("pod", "ps", "--format", "json")
    return sorted(p["Name"] for p in json.loads(raw or "[]") or [])


def _last_status(w: Any, sha: str) -> dict[str, Any]:
    found = [s for s in w.forge.statuses_of(w.kind, w.project, sha)
             if s.get("context", s.get("name")) == "shipway/preview"]  # fmt: skip
    assert found, f"no shipway/preview status on {sha[:8]}"
    return found[-1]


def test_open_push_close(world_factory: Any) -> None:
    w = world_factory("github")
    appset = w.appset(annotations={"shipway.dev/preview-ttl": "72h"})
    branch = "Feature/Login_Page"  # not a DNS label: the Application and namespace get slugs
    sha1 = w.push_branch(branch, "one")
    w.image(sha1)
    number = w.open_pull(branch)
    eng = Previews(w.store, w.settings)
    actions = eng.refresh(appset)
    assert [(a.verb, a.head_sha) for a in actions] == [("deploy", sha1)]
    run_all(eng, actions)
    name = preview_name("web-previews", number)
    p = store_previews.get(w.store, name)
    assert p is not None and p.phase == "Ready", p and p.message
    assert p.applications == [f"web-feature-login-page-{number}"]
    assert p.namespace == f"web-pr-{number}"
    assert p.image.endswith(f"/preview-web:{sha1[:8]}")
    port = int(p.preview_url.rsplit(":", 1)[1].strip("/"))
    assert 29000 <= port <= 29999
    assert _get(p.preview_url) == sha1
    assert all(n.startswith(f"web-pr-{number}.") for n in _pods(w)) and _pods(w)
    status = _last_status(w, sha1)
    assert (status["state"], status["target_url"]) == ("success", p.preview_url)
    [comment] = w.forge.comments_on(w.kind, w.project, number)
    assert p.preview_url in comment and sha1[:7] in comment
    (made,) = [e for e in store_events.query(w.store, kind="Application")
               if e.reason == "PreviewCreated"]  # fmt: skip
    assert (made.involved.name, made.message) == (p.applications[0], p.preview_url)

    # nothing changed: a 304, no work
    used = w.forge.state.rate_used
    assert eng.refresh(appset) == []
    assert w.forge.state.rate_used == used

    # a push updates the same preview, on the same port, with one comment edited in place
    sha2 = w.push_branch(branch, "two")
    w.image(sha2)
    actions = eng.refresh(appset)
    assert [(a.verb, a.head_sha) for a in actions] == [("deploy", sha2)]
    run_all(eng, actions)
    p2 = store_previews.get(w.store, name)
    assert p2 is not None and p2.phase == "Ready", p2 and p2.message
    assert p2.preview_url == p.preview_url and p2.created == p.created
    assert _get(p2.preview_url) == sha2
    assert _last_status(w, sha2)["state"] == "success"
    [comment] = w.forge.comments_on(w.kind, w.project, number)
    assert sha2[:7] in comment
    assert [
        e.count
        for e in store_events.query(w.store, kind="Application")
        if e.reason == "PreviewCreated"
    ] == [1]  # an update is not a new preview

    # closing tears it down: Application, pods and port gone, the comment says so
    w.forge.set_pull(w.kind, w.project, number, state="merged")
    actions = eng.refresh(appset)
    assert [a.verb for a in actions] == ["teardown"]
    run_all(eng, actions)
    assert store_previews.get(w.store, name) is None
    assert store_previews.ports_of(w.store, name) == {}
    assert store_resources.list_kind(w.store, "Application") == []
    assert _pods(w) == []
    assert _refused(p.preview_url)
    [comment] = w.forge.comments_on(w.kind, w.project, number)
    assert "Removed" in comment and "closed" in comment
    (gone,) = [e for e in store_events.query(w.store, kind="Application")
               if e.reason == "PreviewDeleted"]  # fmt: skip
    assert gone.involved.name == p.applications[0]


def test_expiry_restart_failure_and_a_refusing_forge(world_factory: Any) -> None:
    w = world_factory("gitlab")
    appset = w.appset(annotations={"shipway.dev/preview-idle": "24h"})
    good = w.push_branch("good", "good")
    w.image(good)
    bad = w.push_branch("bad", "bad")  # no image is ever built for it
    assert bad not in w.built
    n_good, n_bad = w.open_pull("good"), w.open_pull("bad")
    w.forge.state.refuse_statuses = True
    eng = Previews(w.store, w.settings, health_timeout=15)
    run_all(eng, eng.refresh(appset))
    pg = store_previews.get(w.store, preview_name("web-previews", n_good))
    pb = store_previews.get(w.store, preview_name("web-previews", n_bad))
    assert pg is not None and pg.phase == "Ready", pg and pg.message
    assert pb is not None and pb.phase == "Failed" and pb.message
    assert _get(pg.preview_url) == good
    reasons = [e.reason for e in store_events.query(w.store, limit=500)]
    assert "PreviewStatusRefused" in reasons and "PreviewFailed" in reasons
    [comment] = w.forge.comments_on(w.kind, w.project, n_bad)
    assert "Failed" in comment
    w.forge.state.refuse_statuses = False

    # the controller restarts; meanwhile the bad pull request closed
    w.forge.set_pull(w.kind, w.project, n_bad, state="closed")
    fresh = Previews(w.store, w.settings)
    assert fresh.resume() == []  # nothing was left half done
    run_all(fresh, fresh.refresh(appset))
    assert store_previews.get(w.store, pb.name) is None
    assert store_previews.get(w.store, pg.name) is not None

    # idle expiry: no push for a day reaps it
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert [a.preview for a in fresh.expired(dt.datetime.now(dt.UTC))] == []
    run_all(fresh, fresh.expired(later))
    assert store_previews.list_all(w.store) == []
    assert _pods(w) == [] and _refused(pg.preview_url)
