"""Previews without webhooks: the poll (conditional requests) finds a new pull request, starts
the pull request CI its head waits for (once; a fork's without secrets) and deploys what it
built; a pull request closed while the controller was down goes at start-up."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from test_preview_controller import BUILD, WORKFLOW

from forge_server import TOKEN
from shipway.controller.core import Controller
from shipway.controller.previews import REFRESH, Lane
from shipway.model.preview import preview_name
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import inbox
from shipway.store import previews as store_previews
from shipway.store import resources as resource_store

pytestmark = pytest.mark.integration


def _with_ci(w: Any) -> str:
    (w.source.path / ".github" / "workflows").mkdir(parents=True)
    (w.source.path / ".github" / "workflows" / "pr.yml").write_text(WORKFLOW)
    (w.source.path / "build.sh").write_text(BUILD)
    w.source.add_all()
    w.source.commit("ci")
    w.source.push("origin", "HEAD:refs/heads/main")
    url = str(w.source.run("remote", "get-url", "origin").strip())
    pipeline = f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: web}}
spec:
  source: {{repoURL: "{url}", branches: [main]}}
  runner: {{executor: host}}
  vars: {{REGISTRY: "{w.registry}"}}
  forge: {{kind: {w.kind}, apiURL: "{w.forge.api(w.kind)}", project: "{w.project}"}}
"""
    resource_store.apply(w.store, parse_text(pipeline, "pipeline.yaml"))
    return url


def _item(payload: dict[str, Any]) -> Any:
    return inbox.Item(0, REFRESH, payload, 1, None, dt.datetime.now(dt.UTC))


def test_polled_pull_request_starts_its_ci_once_and_forks_get_no_secrets(world_factory: Any
                                                                           ) -> None:  # fmt: skip
    w = world_factory("gitlab")
    url = _with_ci(w)
    appset = w.appset()
    sha = w.push_branch("feature", "one")
    number = w.open_pull("feature")
    refs: dict[str, dict[str, str]] = {url: {"refs/heads/feature": sha}}
    lane = Lane(w.store, w.settings, refs=lambda repo: refs[repo])
    ref = {"namespace": appset.namespace, "name": appset.name}

    # a webhook's refresh leaves CI to the webhook's own item
    assert [n.kind for n in lane.handle(_item({**ref, "why": f"pr|{number}|opened|{sha}"}))] \
        == ["preview-work"]  # fmt: skip
    p = store_previews.get(w.store, preview_name("web-previews", number))
    assert p is not None and p.phase == "Building"

    # the poll: the head waits for CI nobody started; it starts it, as the branch's (not a fork)
    assert lane.engine.refresh(appset) == []  # unchanged: a 304
    [ci] = lane.polled_ci([_deploy(p)], "tick|1")
    event = ci.payload["event"]
    assert ci.payload["pipeline"] == "web"
    assert (event["number"], event["head_sha"], event["base_ref"]) == (number, sha, "main")
    assert event["fork"] is False and tuple(event["repo_urls"]) == (url,)

    # a head that is no branch of the base repository at that commit: a fork's, no secrets
    refs[url] = {}
    [ci] = lane.polled_ci([_deploy(p)], "tick|2")
    assert ci.payload["event"]["fork"] is True

    # once its CI item is in the inbox (or a webhook's is), the poll starts no other
    inbox.put_many(w.store, [ci])
    assert lane.polled_ci([_deploy(p)], "tick|3") == []


def _deploy(p: Any) -> Any:
    from shipway.promote.previews.engine import Action

    return Action("deploy", p.name, f"{p.appset_namespace}/{p.appset}", p.head_sha)


def test_no_webhook_the_poll_builds_and_deploys_and_start_up_removes_closed(
    world_factory: Any, monkeypatch: Any
) -> None:
    w = world_factory("github")
    monkeypatch.setenv("SHIPWAY_FORGE_TOKEN", TOKEN)
    _with_ci(w)
    w.appset()
    settings = Settings(home=w.settings.home, controller_url="http://controller.test")
    controller = Controller(settings, w.store, health_timeout=60)
    env = {"PATH": "/usr/bin:/bin", **w.podman}
    monkeypatch.setattr(controller.ci, "step_env", lambda pipe: env)
    controller.start_workers()
    sha = w.push_branch("feature", "one")
    number = w.open_pull("feature")
    name = preview_name("web-previews", number)
    try:
        controller._put(controller.previews.poll())  # the periodic pass: no webhook came
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            p = store_previews.get(w.store, name)
            if p is not None and p.phase in ("Ready", "Failed"):
                break
            time.sleep(0.3)
        assert p is not None and p.phase == "Ready", p and p.message
        assert p.image.endswith(f"/preview-web:{sha[:8]}")  # what its CI built
    finally:
        controller.wait_idle(120)
        controller.shutdown()

    # down; meanwhile the pull request closes; the next controller's start-up removes it
    w.forge.set_pull("github", w.project, number, state="closed")
    again = Controller(settings, w.store, health_timeout=60)
    again.start_workers()
    try:
        again.resume_interrupted()
        deadline = time.monotonic() + 60
        while store_previews.get(w.store, name) is not None and time.monotonic() < deadline:
            time.sleep(0.3)
        assert store_previews.get(w.store, name) is None
        assert resource_store.list_kind(w.store, "Application") == []
    finally:
        again.wait_idle(60)
        again.shutdown()


def test_a_forge_refusing_the_listing_is_an_event_and_tears_nothing_down(world_factory: Any
                                                                          ) -> None:  # fmt: skip
    from shipway.promote.previews.engine import Previews
    from shipway.store import events as store_events

    w = world_factory("gitea")
    appset = w.appset()
    w.push_branch("feature", "one")
    number = w.open_pull("feature")
    Previews(w.store, w.settings).refresh(appset)
    name = preview_name("web-previews", number)
    assert store_previews.get(w.store, name) is not None
    secret = w.settings.home / "secrets" / "argocd" / "forge-token.yaml"
    secret.write_text(secret.read_text().replace("data:", "stringData: {token: wrong}\nx:"))
    lane = Lane(w.store, w.settings)
    ref = {"namespace": appset.namespace, "name": appset.name, "why": "tick|1"}
    assert lane.handle(_item(ref)) == []
    assert store_previews.get(w.store, name) is not None  # kept: the listing failed
    [event] = [e for e in store_events.query(w.store, limit=100)
               if e.reason == "PreviewRefreshFailed"]  # fmt: skip
    assert event.type == "Warning" and "Bad credentials" in event.message, event.message
