"""``shipway image update --once -f DIR``: one pass from files, nothing stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from updater_helpers import application, push_image, seed_config_repo

from cli_runner import run
from shipway.git.repo import Repo
from shipway.images.registry import RegistryClient
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import open_store

pytestmark = pytest.mark.integration


def test_once_from_files(  # type: ignore[no-untyped-def]
    registry, git_server, tmp_path: Path, shipway_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    u = uuid.uuid4().hex[:8]
    url = git_server.bare(f"cli-{u}")
    seed = seed_config_repo(url, tmp_path / "seed")
    digest = push_image(
        RegistryClient(registry.host), f"cli/{u}", "3.1", created="2026-03-01T00:00:00Z"
    )
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "app.yaml").write_text(application("cli-app", f"{registry.host}/cli/{u}", url))
    code, out, err = run(["image", "update", "--once", "--dry-run", "-f", str(apps)], capsys)
    assert code == 0, err
    assert "would change overlays/dev/kustomization.yaml:" in out
    assert Repo.clone(url, tmp_path / "dry").head() == seed.head()  # nothing pushed
    code, out, err = run(["image", "update", "--once", "-f", str(apps), "-o", "json"], capsys)
    assert code == 0, err
    [res] = json.loads(out)["items"]  # a List, as every list's -o json
    assert res["image"] == f"{registry.host}/cli/{u}@{digest}" and res["config_commit"]
    assert res["files"] == ["overlays/dev/kustomization.yaml"]
    code, out, _ = run(["image", "update", "--once", "-f", str(apps), "-o", "json"], capsys)
    assert code == 0 and json.loads(out)["items"][0]["config_commit"] is None
    assert store_resources.list_kind(open_store(Settings()), "Application") == []

    (apps / "bad.yaml").write_text(application("bad-app", f"{registry.host}/cli/none-{u}", url))
    code, out, _ = run(["image", "update", "--once", "-f", str(apps)], capsys)
    assert code == 1 and "application/bad-app" in out and "unchanged" in out
