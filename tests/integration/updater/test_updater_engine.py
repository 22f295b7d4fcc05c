"""The engine against a real CNCF registry and a real git daemon."""

from __future__ import annotations

import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from updater_helpers import application, push_image, seed_config_repo

from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store import runs
from shipway.store.db import open_store
from shipway.updater import engine
from shipway.updater.webhooks import PushEvent

pytestmark = pytest.mark.integration


def _names() -> tuple[str, str]:
    u = uuid.uuid4().hex[:8]
    return f"demo/hello-{u}", f"config-{u}"


def _kustomization(url: str, tmp: Path) -> str:
    clone = Repo.clone(url, tmp / uuid.uuid4().hex)
    return (clone.path / "overlays/dev/kustomization.yaml").read_text()


def test_push_event_pins_newest_build_and_is_idempotent(
    registry, git_server, tmp_path, shipway_home
):  # type: ignore[no-untyped-def]
    repo_name, cfg = _names()
    url = git_server.bare(cfg)
    seed_config_repo(url, tmp_path / "seed")
    client = RegistryClient(registry.host)
    image = f"{registry.host}/{repo_name}"
    push_image(client, repo_name, "1.0", created="2026-01-01T00:00:00Z", revision="a" * 40)
    newest = push_image(client, repo_name, "2.0", created="2026-02-01T00:00:00.123456789Z",
                        revision="b" * 40)  # fmt: skip
    push_image(client, repo_name, "0.5", created="2025-12-01T00:00:00Z")
    store = open_store(Settings())
    store_resources.apply(store, parse_text(application("hello-dev", image, url), "app.yaml"))
    work = tmp_path / "work"

    events = [PushEvent(repo_name, "0.5", None, registry.host)]
    [res] = engine.on_push(store, events, workdir=work)
    assert res.error is None, res
    assert (res.app, res.tag, res.image) == ("hello-dev", "2.0", f"{image}@{newest}")
    assert res.source_commit == "b" * 40
    assert res.files == ["overlays/dev/kustomization.yaml"] and res.config_commit

    text = _kustomization(url, tmp_path)
    assert text == (
        "# dev overlay\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        'resources:\n  - deploy.yaml\nimages:\n  - name: hello   # the app\n    newTag: "2.0"\n'
        f"    newName: {image}\n    digest: {newest}\n"
    )
    msg = Repo.clone(url, tmp_path / "msg").run("log", "-1", "--format=%B")
    assert f"Image: {image}@{newest}" in msg and f"Source-Commit: {'b' * 40}" in msg
    assert "overlays/dev/kustomization.yaml" in msg

    status = store_resources.get(store, "Application", "hello-dev").status["imageUpdate"]
    assert status["images"][0]["configCommit"] == res.config_commit
    assert status["conditions"][0]["status"] == "True"

    [(key, phase, state)] = runs.states(store, "updater")
    assert (key, phase, state["config_commit"]) == ("Application/hello-dev/app", "committed",
                                                    res.config_commit)  # fmt: skip

    again = engine.run_once(store, workdir=work)
    assert [(r.config_commit, r.error, r.tag) for r in again] == [(None, None, "2.0")]
    assert Repo.clone(url, tmp_path / "c2").head() == res.config_commit  # no empty commit

    # an event for another repository does nothing
    assert (
        engine.on_push(store, [PushEvent("demo/other", "1", None, registry.host)], workdir=work)
        == []
    )


def test_rendered_by_kustomize(registry, git_server, tmp_path):  # type: ignore[no-untyped-def]
    repo_name, cfg = _names()
    url = git_server.bare(cfg)
    seed_config_repo(url, tmp_path / "seed")
    client = RegistryClient(registry.host)
    digest = push_image(client, repo_name, "1.0", created="2026-01-01T00:00:00Z")
    image = f"{registry.host}/{repo_name}"
    res = parse_text(application("k", image, url), "app.yaml")
    [r] = engine.run_once(None, workdir=tmp_path / "w", resources=res)
    assert r.config_commit
    clone = Repo.clone(url, tmp_path / "render")
    out = subprocess.run(["kubectl", "kustomize", str(clone.path / "overlays/dev")],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"image: {image}:1.0@{digest}" in out


def test_concurrent_engines_lose_no_update(registry, git_server, tmp_path):  # type: ignore[no-untyped-def]
    """Several engines (own checkouts, so real non-fast-forward races) write one repo at once."""
    _, cfg = _names()
    url = git_server.bare(cfg)
    n = 4
    files = {f"apps/a{i}/kustomization.yaml": "images:\n  - name: hello\n    newTag: old\n"
             for i in range(n)}  # fmt: skip
    seed_config_repo(url, tmp_path / "seed", files)
    client = RegistryClient(registry.host)
    apps = []
    for i in range(n):
        repo_name = f"race/img-{uuid.uuid4().hex[:6]}"
        push_image(client, repo_name, f"{i}.0", created="2026-01-01T00:00:00Z")
        text = application(f"a{i}", f"{registry.host}/{repo_name}", url).replace(
            "overlays/dev", f"apps/a{i}"
        )
        apps.append(parse_text(text, f"a{i}.yaml"))
    barrier = threading.Barrier(n)
    results: list[engine.UpdateResult] = []

    def run(i: int) -> None:
        barrier.wait()
        results.extend(engine.run_once(None, workdir=tmp_path / f"w{i}", resources=apps[i]))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.error is None and r.config_commit for r in results), [
        (r.app, r.error, r.error_subject, r.config_commit) for r in results
    ]
    clone = Repo.clone(url, tmp_path / "final")
    for i in range(n):
        assert f'newTag: "{i}.0"' in (clone.path / f"apps/a{i}/kustomization.yaml").read_text()
    assert len(clone.run("log", "--format=%H").split()) == n + 1


def test_errors_land_on_status_with_file_and_line(registry, git_server, tmp_path, shipway_home):  # type: ignore[no-untyped-def]
    repo_name, cfg = _names()
    url = git_server.bare(cfg)
    seed_config_repo(
        url, tmp_path / "seed", {"overlays/dev/kustomization.yaml": "kind: K\nimages: 3\n"}
    )
    client = RegistryClient(registry.host)
    push_image(client, repo_name, "1.0", created="2026-01-01T00:00:00Z")
    store = open_store(Settings())
    image = f"{registry.host}/{repo_name}"
    store_resources.apply(store, parse_text(application("bad", image, url), "app.yaml"))
    store_resources.apply(store, parse_text(application("none", image + "-missing", url), "b.yaml"))
    results = {r.app: r for r in engine.run_once(store, workdir=tmp_path / "w")}
    assert results["bad"].error_subject == "overlays/dev/kustomization.yaml:2"
    assert results["none"].error and results["none"].config_commit is None
    st = store_resources.get(store, "Application", "bad").status["imageUpdate"]
    assert st["conditions"][0]["status"] == "False"
    assert "overlays/dev/kustomization.yaml:2" in st["conditions"][0]["message"]
