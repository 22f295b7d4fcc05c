"""A preview set's input: a template whose namespace is the raw branch name (no DNS label)
fails that preview with the reason, on the forge and in the events, and deploys nothing; the
provider's ``insecure`` holds for the statuses and comments too."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from forge_server import TOKEN
from shipway.model.preview import preview_name
from shipway.model.resources import Resource
from shipway.promote.previews.engine import Previews, run_all
from shipway.store import events as store_events
from shipway.store import previews as store_previews
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration


def test_a_namespace_from_a_raw_branch_name_fails_with_the_reason(world_factory: Any) -> None:
    w = world_factory("github")
    appset = w.appset()
    body = copy.deepcopy(appset.body)
    body["spec"]["template"]["spec"]["destination"]["namespace"] = "web-{{branch}}"
    store_resources.apply(w.store, [Resource(appset.api_version, appset.kind, appset.name,
                                             appset.namespace, body)])  # fmt: skip
    appset = store_resources.get(w.store, "ApplicationSet", appset.name, appset.namespace)
    sha = w.push_branch("Feature/Login_Page", "one")
    number = w.open_pull("Feature/Login_Page")
    eng = Previews(w.store, w.settings, health_timeout=5)
    run_all(eng, eng.refresh(appset))
    p = store_previews.get(w.store, preview_name("web-previews", number))
    assert p is not None and p.phase == "Failed"
    assert "'web-Feature/Login_Page' is not a DNS label" in p.message
    assert "{{branch_slug}}" in p.message
    assert p.applications == [] and store_resources.list_kind(w.store, "Application") == []
    [status] = [s for s in w.forge.statuses_of("github", w.project, sha)
                if s.get("context") == "shipway/preview" and s["state"] == "failure"]  # fmt: skip
    assert "not a DNS label" in status["description"]
    [comment] = w.forge.comments_on("github", w.project, number)
    assert "Failed" in comment and "not a DNS label" in comment
    failed = [e for e in store_events.query(w.store, limit=100) if e.reason == "PreviewFailed"]
    assert failed and "not a DNS label" in failed[0].message


def test_an_insecure_generator_reports_through_its_own_client(world_factory: Any) -> None:
    """``insecure: true`` (a forge of its own CA): the status and the comment go through the
    client the listing used, the one that does not verify TLS."""
    w = world_factory("gitea")
    appset = w.appset()
    body = copy.deepcopy(appset.body)
    body["spec"]["generators"][0]["pullRequest"]["gitea"]["insecure"] = True
    store_resources.apply(w.store, [Resource(appset.api_version, appset.kind, appset.name,
                                             appset.namespace, body)])  # fmt: skip
    appset = store_resources.get(w.store, "ApplicationSet", appset.name, appset.namespace)
    w.push_branch("feature", "one")
    number = w.open_pull("feature")
    eng = Previews(w.store, w.settings)
    assert [a.verb for a in eng.refresh(appset)] == ["deploy"]
    p = store_previews.get(w.store, preview_name("web-previews", number))
    assert p is not None
    api = w.forge.api("gitea")
    listing = eng.forges.client("gitea", api, w.project, TOKEN, True)
    assert eng.client(p, TOKEN) is listing
    assert eng.client(p, TOKEN) is not eng.forges.client("gitea", api, w.project, TOKEN, False)


def test_a_port_taken_between_allocation_and_play_is_allocated_anew(world_factory: Any) -> None:
    """Another shipway home (or anything) binds the preview's recorded port before its pod
    starts: the target names the holder, the port is released and the sync runs once more
    on a new one."""
    import socket
    import urllib.request

    w = world_factory("github")
    appset = w.appset()
    sha = w.push_branch("feature", "one")
    w.image(sha)
    number = w.open_pull("feature")
    name = preview_name("web-previews", number)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        # recorded for the preview while free; taken since
        from shipway.store.previews import PreviewPortRow

        with w.store.session() as s:
            s.add(PreviewPortRow(host_port=taken, preview=name,
                                 object=f"Service/web-pr-{number}/web:80",
                                 created=dt.datetime.now(dt.UTC)))  # fmt: skip
        eng = Previews(w.store, w.settings, health_timeout=30)
        run_all(eng, eng.refresh(appset))
        p = store_previews.get(w.store, name)
        assert p is not None and p.phase == "Ready", p and p.message
        port = int(p.preview_url.rsplit(":", 1)[1].strip("/"))
        assert port != taken and store_previews.ports_of(w.store, name) == {
            f"Service/web-pr-{number}/web:80": port}  # fmt: skip
        with urllib.request.urlopen(p.preview_url, timeout=10) as resp:
            assert resp.read().decode().strip() == sha
