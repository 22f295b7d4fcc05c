"""The main job, end to end, for real: ``shipway demo`` then again, then ``--clean``.

Runs the real command in a fresh ``$SHIPWAY_HOME``: git daemon, CNCF registry,
controller, podman. Checks each release record ties commit, CI run, pinned
image, config commit and live revision, and that the app answers the version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shipway.runtime import services

SHIPWAY = [sys.executable, "-m", "shipway.cli.main"]


def shipway(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPWAY_HOME": str(home)}
    env.pop("SHIPWAY_DATABASE_URL", None)
    return subprocess.run(
        [*SHIPWAY, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    yield home
    shipway(home, "demo", "--clean")


def _check_release(rel: dict[str, object]) -> None:
    for key in ("app", "commit", "ci_run", "image", "config_commit", "status", "stages"):
        assert rel.get(key), f"release lacks {key}: {rel}"
    assert rel["status"] == "Succeeded"
    assert "@sha256:" in str(rel["image"])
    assert rel["revision"] == rel["config_commit"]
    stages = rel["stages"]
    assert isinstance(stages, list)
    assert [s["name"] for s in stages] == ["ci", "image", "update", "sync", "health"]
    assert all(s["status"] == "Succeeded" and s["started"] and s["finished"] for s in stages)


def test_demo_ships_two_commits_then_reruns_then_cleans(home: Path) -> None:
    first = shipway(home, "demo", "-o", "json")
    assert first.returncode == 0, first.stderr[-3000:]
    data = json.loads(first.stdout)
    rels = [r["release"] for r in data["releases"]]
    assert len(rels) == 2
    for rel in rels:
        _check_release(rel)
    assert rels[0]["commit"] != rels[1]["commit"]
    assert rels[0]["image"] != rels[1]["image"]
    versions = [r["answer"]["version"] for r in data["releases"]]
    assert versions == ["1.0.0", "1.0.1"]
    answer = httpx.get(data["app_url"], timeout=5).json()
    assert answer["version"] == "1.0.1"
    assert answer["greeting"] == "hello from dev"  # the overlay's ConfigMap reached the pod

    app = json.loads(shipway(home, "app", "get", "hello-dev", "-o", "json").stdout)
    assert app["status"]["sync"]["status"] == "Synced", app["status"].get("resources")
    assert app["status"]["health"]["status"] == "Healthy"
    assert app["status"]["sync"]["revision"] == rels[1]["config_commit"]

    listed = shipway(home, "release", "list", "-o", "json")
    assert listed.returncode == 0
    assert {r["id"] for r in json.loads(listed.stdout)["items"]} >= {r["id"] for r in rels}

    again = shipway(home, "demo", "--changes", "1", "-o", "json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["releases"][0]["answer"]["version"] == "1.0.2"
    for rel in rels:  # no signing key in the demo: each CI image still got its SBOM, unsigned
        got = json.loads(shipway(home, "release", "get", rel["id"], "-o", "json").stdout)
        assert got["security"]["sbom"]["sbomDigest"].startswith("sha256:"), got["security"]

    cleaned = shipway(home, "demo", "--clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert not (home / "run").exists()
    assert services.load(home / "run", "controller") is None
    with pytest.raises(httpx.HTTPError):
        httpx.get(data["app_url"], timeout=2)


def test_demo_with_tekton_ci_ships_a_release(home: Path) -> None:
    """``shipway demo --ci tekton``: the app's ``.tekton/push.yaml`` PipelineRun is its CI,
    and the chain goes on to one release record as with GitHub Actions."""
    out = shipway(home, "demo", "--ci", "tekton", "--changes", "1", "-o", "json")
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout)
    (entry,) = data["releases"]
    rel = entry["release"]
    _check_release(rel)
    assert entry["answer"]["version"] == "1.0.0"
    listed = json.loads(shipway(home, "ci", "list", "-o", "json").stdout)
    (run,) = [r for r in listed["items"] if r["id"] == rel["ci_run"]]
    assert (run["kind"], run["conclusion"]) == ("PipelineRun", "success"), run
