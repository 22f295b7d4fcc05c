"""The demo's promotion flow, for real: ``shipway demo`` ships a good build and a bad one.

Real git daemon, CNCF registry, controller and podman in a fresh ``$SHIPWAY_HOME``. The
good build's Freight is promoted into test and uat by the controller (verified by the
app's ``/cgi-bin/health``), prod waits for the printed ``shipway promote``; the second
build's health check fails, so test rolls back and uat refuses it. The release records
link each commit's CI run and image to its Freight.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SHIPWAY = [sys.executable, "-m", "shipway.cli.main"]
ORIGIN = "Warehouse/hello"


def shipway(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPWAY_HOME": str(home)}
    env.pop("SHIPWAY_DATABASE_URL", None)
    return subprocess.run(
        [*SHIPWAY, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def read(home: Path, *args: str) -> Any:
    done = shipway(home, *args, "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    shipway(home, "demo", "--clean")


def _results(flow: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["result"] for s in flow["stages"]}


def _holding(stage: dict[str, Any]) -> str | None:
    history = stage["status"].get("freightHistory") or []
    return history[0]["items"][ORIGIN]["name"] if history else None


def _answer(port: int, path: str) -> Any:
    return httpx.get(f"http://127.0.0.1:{port}/cgi-bin/{path}", timeout=5).json()


def test_good_freight_reaches_uat_bad_is_rolled_back_and_prod_waits(home: Path) -> None:
    run = shipway(home, "demo", "-o", "json")
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads(run.stdout)
    first, second = (r["promotion"] for r in data["releases"])
    assert _results(first) == {"test": "verified", "uat": "verified", "prod": "waiting"}
    assert _results(second) == {"test": "rolled-back", "uat": "refused", "prod": "refused"}
    good, bad = first["freight"], second["freight"]
    assert good["name"] != bad["name"]
    uat = next(s for s in second["stages"] if s["name"] == "uat")
    assert "not verified in stage test" in uat["outcome"]

    # one release record per commit: CI run, image, and the Freight made of that image
    freights = {f["metadata"]["name"]: f for f in read(home, "get", "freight", "-n", "hello")
                ["items"]}  # fmt: skip
    for out, link in zip(data["releases"], (good, bad), strict=True):
        rel = read(home, "release", "get", out["release"]["id"])
        assert rel["ci_run"] and rel["commit"] == out["release"]["commit"]
        assert rel["freight"] == link
        (image,) = freights[link["name"]]["images"]
        assert rel["image"] == f"{image['repoURL']}@{image['digest']}"

    stages = {s["metadata"]["name"]: s for s in read(home, "get", "stages", "--project",
                                                      "hello")["items"]}  # fmt: skip
    assert _holding(stages["test"]) == good["name"]  # rolled back
    assert _holding(stages["uat"]) == good["name"]
    assert _holding(stages["prod"]) is None  # a person promotes prod
    hold = stages["test"]["status"]["autoPromotionHolds"][ORIGIN]
    assert (hold["freightName"], hold["reason"]) == (bad["name"], "Rollback")
    assert set(freights[good["name"]]["status"]["verifiedIn"]) == {"test", "uat"}
    assert not freights[bad["name"]]["status"].get("verifiedIn")

    journey = read(home, "release", "get", bad["alias"], "--project", "hello")["journey"]
    seen = {(e["stage"], e["kind"], e["phase"]) for e in journey}
    assert {("test", "verification", "Failed"), ("test", "rollback", "Succeeded")} <= seen
    assert not any(e["stage"] in ("uat", "prod") for e in journey)

    ports = json.loads((home / "demo" / "ports.json").read_text())
    for name in ("test", "uat"):  # both serve the good build again, healthy
        assert _answer(ports[name], "health") == {"healthy": True, "version": "1.0.0"}
        assert _answer(ports[name], "version")["greeting"] == f"hello from {name}"

    command = first["promoteProd"].split()
    assert command[:2] == ["shipway", "promote"] and "--wait" in command
    promoted = shipway(home, *command[1:])
    assert promoted.returncode == 0, promoted.stderr
    prod = read(home, "get", "stage", "prod", "--project", "hello")
    assert _holding(prod) == good["name"]
    assert _answer(ports["prod"], "version")["greeting"] == "hello from prod"
    assert _answer(ports["prod"], "health") == {"healthy": True, "version": "1.0.0"}

    cleaned = shipway(home, "demo", "--clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "deleted ApplicationSet/hello" in cleaned.stdout
    assert "deleted Project/hello" in cleaned.stdout
    with pytest.raises(httpx.HTTPError):
        _answer(ports["test"], "health")
