"""Warehouse discovery against the real registry and git daemon: Freight of the newest
selection, named by its contents (made once), path filters, Manual creation, the CLI,
and a registry notification to the controller making Freight without a poll."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from updater_helpers import push_image

from shipway.cli.main import cli
from shipway.controller.core import Controller
from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.model.resources import parse_text
from shipway.promote import warehouse
from shipway.server.app import create_app
from shipway.settings import Settings
from shipway.store import events as store_events
from shipway.store import resources as store
from shipway.store.db import Store, open_store

pytestmark = pytest.mark.integration


def _warehouse(name: str, subs: str, extra: str = "") -> str:
    return f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: {name}, namespace: demo}}
spec:
{extra}  subscriptions:
{subs}"""


def _project(db: Store) -> None:
    doc = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: demo}\n"
    store.apply(db, parse_text(doc, "p.yaml"))


def _freight(db: Store) -> list[Any]:
    return store.list_kind(db, "Freight", "demo")


def test_newest_semver_tag_with_digest_once(
    registry: Any, shipway_home: Path, tmp_path: Path
) -> None:
    repo = f"demo/wh-{uuid.uuid4().hex[:8]}"
    client = RegistryClient(registry.host)
    push_image(client, repo, "1.0.0", created="2026-01-01T00:00:00Z")
    newest = push_image(client, repo, "1.1.0", created="2026-01-02T00:00:00Z")
    push_image(client, repo, "2.0.0-rc.1", created="2026-01-03T00:00:00Z")
    db = open_store(Settings())
    _project(db)
    subs = f"  - image: {{repoURL: {registry.host}/{repo}, constraint: ^1.0.0}}\n"
    store.apply(db, parse_text(_warehouse("shop", subs), "w.yaml"))
    res = warehouse.refresh_named(db, "shop", "demo", workdir=tmp_path)
    assert res.error is None and res.created
    [f] = _freight(db)
    assert f.name == res.freight and f.body["alias"] == res.alias
    assert f.body["images"] == [
        {"repoURL": f"{registry.host}/{repo}", "tag": "1.1.0", "digest": newest}
    ]
    assert f.body["origin"] == {"kind": "Warehouse", "name": "shop"}
    found = store.get(db, "Warehouse", "shop", "demo").status
    refs = found["discoveredArtifacts"]["images"][0]["references"]
    assert [r["tag"] for r in refs] == ["1.1.0", "1.0.0"] and found["lastFreightID"] == f.name

    again = warehouse.refresh_named(db, "shop", "demo", workdir=tmp_path)
    assert again.freight == f.name and not again.created and len(_freight(db)) == 1
    events = store_events.query(db, kind="Freight", name=f.name)
    assert [e.reason for e in events] == ["FreightCreated"] and "1.1.0" in events[0].message

    third = push_image(client, repo, "1.2.0", created="2026-01-04T00:00:00Z")
    res3 = warehouse.refresh_named(db, "shop", "demo", workdir=tmp_path)
    assert res3.created and len(_freight(db)) == 2
    assert store.get(db, "Freight", str(res3.freight), "demo").body["images"][0]["digest"] == third
    db.close()


def _commit(work: Repo, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (work.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (work.path / rel).write_text(text)
    work.run("add", "-A")
    work.run("commit", "-q", "-m", message)
    work.run("push", "-q", "origin", "HEAD:main")
    return work.head()


def test_git_newest_commit_touching_included_paths(
    git_server: Any, shipway_home: Path, tmp_path: Path
) -> None:
    url = git_server.bare(f"wh-src-{uuid.uuid4().hex[:8]}")
    work = Repo.clone(url, tmp_path / "work")
    app = _commit(work, {"src/app.py": "v1\n"}, "app v1")
    _commit(work, {"docs/readme.md": "docs\n"}, "docs only")
    _commit(work, {"src/app_test.py": "t\n"}, "tests only")
    db = open_store(Settings())
    _project(db)
    subs = (f"  - git:\n      repoURL: {url}\n      includePaths: [src]\n"
            "      excludePaths: ['glob:*_test.py']\n")  # fmt: skip
    store.apply(db, parse_text(_warehouse("src", subs), "w.yaml"))
    res = warehouse.refresh_named(db, "src", "demo", workdir=tmp_path / "wd")
    assert res.error is None and res.created
    [f] = _freight(db)
    assert f.body["commits"] == [
        {"repoURL": url, "id": app, "branch": "main", "message": "app v1",
         "author": "shipway <shipway@localhost>"}
    ]  # fmt: skip

    app2 = _commit(work, {"src/app.py": "v2\n"}, "app v2")
    runner = CliRunner()
    out = runner.invoke(cli, ["warehouse", "refresh", "src", "-n", "demo"])
    assert out.exit_code == 0, out.output
    assert "created" in out.output
    ids = sorted(c["id"] for f in _freight(db) for c in f.body["commits"])
    assert ids == sorted([app, app2])
    listed = runner.invoke(cli, ["get", "freight", "-n", "demo", "-o", "json"])
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.output)
    assert data["kind"] == "List" and len(data["items"]) == 2
    # -o: the Warehouse as stored, through either spelling of the command
    named = runner.invoke(cli, ["refresh", "warehouse", "src", "-n", "demo", "-o", "name"])
    assert (named.exit_code, named.output) == (0, "warehouse/src\n"), named.output
    shown = runner.invoke(cli, ["warehouse", "refresh", "src", "-n", "demo", "-o", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["status"]["lastHandledRefresh"]
    db.close()


def test_manual_policy_and_failed_discovery(
    registry: Any, shipway_home: Path, tmp_path: Path
) -> None:
    repo = f"demo/wh-manual-{uuid.uuid4().hex[:8]}"
    push_image(RegistryClient(registry.host), repo, "1.0.0", created="2026-01-01T00:00:00Z")
    db = open_store(Settings())
    _project(db)
    subs = f"  - image: {{repoURL: {registry.host}/{repo}}}\n"
    store.apply(db, parse_text(_warehouse("m", subs, "  freightCreationPolicy: Manual\n"), "w"))
    res = warehouse.refresh_named(db, "m", "demo", workdir=tmp_path)
    assert res.freight and not res.created and _freight(db) == []
    bad = f"  - image: {{repoURL: {registry.host}/{repo}, constraint: ^9.0.0}}\n"
    store.apply(db, parse_text(_warehouse("bad", bad), "w.yaml"))
    out = CliRunner().invoke(cli, ["warehouse", "refresh", "bad", "--project", "demo"])
    assert out.exit_code == 1 and "no tag matches" in out.output
    cond = store.get(db, "Warehouse", "bad", "demo").status["conditions"][0]
    assert cond["status"] == "False" and "^9.0.0" in cond["message"]
    db.close()


def test_registry_notification_makes_freight_without_polling(
    registry: Any, shipway_home: Path, tmp_path: Path
) -> None:
    repo = f"demo/wh-hook-{uuid.uuid4().hex[:8]}"
    client = RegistryClient(registry.host)
    push_image(client, repo, "1.0.0", created="2026-01-01T00:00:00Z")
    settings = Settings(home=shipway_home)
    db = open_store(settings)
    _project(db)
    subs = f"  - image: {{repoURL: {registry.host}/{repo}}}\n"
    store.apply(db, parse_text(_warehouse("hook", subs, "  interval: 24h\n"), "w.yaml"))
    controller = Controller(settings, db)
    controller.start_workers()  # no periodic tick: only the notification can refresh
    try:
        digest = push_image(client, repo, "1.1.0", created="2026-01-02T00:00:00Z")
        envelope = {"events": [{
            "id": uuid.uuid4().hex, "action": "push", "timestamp": "2026-01-02T00:00:01Z",
            "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "repository": repo, "tag": "1.1.0", "digest": digest},
            "request": {"host": registry.host}}]}  # fmt: skip
        http = TestClient(create_app(controller))
        resp = http.post(
            "/hooks/registry",
            content=json.dumps(envelope).encode(),
            headers={"Content-Type": "application/vnd.docker.distribution.events.v1+json",
                     "Authorization": f"Bearer {controller.tokens.registry()}"},
        )  # fmt: skip
        assert resp.status_code == 202, resp.text
        assert controller.wait_idle()
    finally:
        controller.shutdown()
    [f] = _freight(db)
    assert f.body["images"][0]["tag"] == "1.1.0" and f.body["images"][0]["digest"] == digest
    db.close()


def test_git_push_hook_makes_freight_and_interval_polls(
    git_server: Any, shipway_home: Path, tmp_path: Path
) -> None:
    url = git_server.bare(f"wh-hook-{uuid.uuid4().hex[:8]}")
    work = Repo.clone(url, tmp_path / "work")
    first = _commit(work, {"a.txt": "1\n"}, "one")
    settings = Settings(home=shipway_home)
    db = open_store(settings)
    _project(db)
    subs = f"  - git: {{repoURL: {url}, branch: main}}\n"
    store.apply(db, parse_text(_warehouse("cfg", subs, "  interval: 1h\n"), "w.yaml"))
    # the fallback: a Warehouse never discovered is due; one refreshed within its interval is not
    [due] = warehouse.poll_due(db, workdir=settings.work_dir / "warehouses")
    assert due.created and warehouse.poll_due(db, workdir=settings.work_dir / "warehouses") == []
    controller = Controller(settings, db)
    controller.start_workers()
    try:
        second = _commit(work, {"a.txt": "2\n"}, "two")
        http = TestClient(create_app(controller))
        body = {"repo": url, "updates": [{"ref": "refs/heads/main", "before": first,
                                          "after": second}]}  # fmt: skip
        auth = {"Authorization": f"Bearer {controller.tokens.git(url)}"}
        resp = http.post("/hooks/git", json=body, headers=auth)
        assert resp.status_code == 202, resp.text
        assert controller.wait_idle()
    finally:
        controller.shutdown()
    ids = {f.body["commits"][0]["id"] for f in _freight(db)}
    assert ids == {first, second}
    table = CliRunner().invoke(cli, ["get", "warehouses", "-n", "demo", "-o", "wide"])
    assert table.exit_code == 0, table.output
    assert "cfg" in table.output and "True" in table.output and "1h" in table.output
    listing = CliRunner().invoke(cli, ["get", "freight", "-n", "demo"])
    aliases = {str(f.body["alias"]) for f in _freight(db)}
    assert all(a in listing.output for a in aliases), listing.output
    db.close()
