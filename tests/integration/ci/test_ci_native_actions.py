"""Native marketplace actions: cache, artifacts, setup-python/node, docker login/metadata/build."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from shipway.ci.actions.setup import matches
from shipway.store import events as store_events
from shipway.store.db import Store

Runner = Callable[..., tuple[dict[str, Any], list[str]]]


def test_cache_saves_then_restores(run_wf: Runner) -> None:
    wf = """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - id: c
                uses: actions/cache@v4
                with:
                  path: deps
                  key: deps-${{ hashFiles('lock.txt') }}
                  restore-keys: deps-
              - run: |
                  echo "hit=${{ steps.c.outputs.cache-hit }}"
                  mkdir -p deps; [ -f deps/x ] && echo "restored $(cat deps/x)"; echo built > deps/x
        """
    first, lines1 = run_wf(wf)
    assert first["conclusion"] == "success", lines1
    assert any("hit=false" in ln for ln in lines1)
    assert any("Cache saved with key: deps-" in ln for ln in lines1)
    second, lines2 = run_wf(wf)
    assert any("hit=true" in ln for ln in lines2), lines2
    assert any("restored built" in ln for ln in lines2)
    assert [s["name"] for s in second["jobs"][0]["steps"]] == [
        "Run actions/cache@v4",
        'Run echo "hit=true"',
    ]


def test_artifacts_between_jobs(run_wf: Runner) -> None:
    record, lines = run_wf(
        """
        on: push
        jobs:
          up:
            runs-on: x
            steps:
              - run: mkdir -p out/sub && echo one > out/a.txt && echo two > out/sub/b.txt
              - uses: actions/upload-artifact@v4
                with: {name: dist, path: "out/**/*.txt"}
              - uses: actions/upload-artifact@v4
                with: {name: none, path: nothing-here, if-no-files-found: error}
                continue-on-error: true
          down:
            needs: up
            runs-on: x
            steps:
              - id: d
                uses: actions/download-artifact@v4
                with: {name: dist, path: got}
              - run: cat got/a.txt got/sub/b.txt; echo "path=${{ steps.d.outputs.download-path }}"
        """
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "] one" in text and "] two" in text
    assert "No files were found with the provided path: nothing-here" in text


def test_setup_python_and_node_use_host_toolchains(run_wf: Runner) -> None:
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    major = node.stdout.strip().lstrip("v").split(".")[0]
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - id: py
                uses: actions/setup-python@v5
                with: {{python-version: "{py}"}}
              - run: python --version; echo "out=${{{{ steps.py.outputs.python-version }}}}"
              - uses: actions/setup-node@v4
                with: {{node-version: {major}}}
              - run: node -e 'console.log("node", process.versions.node.split(".")[0])'
              - uses: actions/setup-python@v5
                with: {{python-version: "2.7"}}
        """
    )
    text = "\n".join(lines)
    assert f"Python {py}" in text
    assert f"out={py}." in text
    assert f"node {major}" in text
    assert "Version 2.7 was not found on this host" in text
    assert [s["conclusion"] for s in record["jobs"][0]["steps"]][-1] == "failure"


def test_version_specs() -> None:
    assert matches("3.11", "3.11.7") and not matches("3.12", "3.11.7")
    assert matches("3.x", "3.11.7") and matches(">=3.10", "3.11.7") and matches("20", "20.20.2")
    assert matches("lts/*", "20.1.0") and not matches("<3.10", "3.11.0")


def test_docker_metadata_login_build_push(
    run_wf: Runner, registry: Any, new_repo: Any, tmp_path: Path, store: Store
) -> None:
    image = "ghcr.io/demo/app"  # sent to the local registry by the alias
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          image:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
              - id: meta
                uses: docker/metadata-action@v5
                with:
                  images: {image}
                  tags: |
                    type=ref,event=branch
                    type=sha
                    type=raw,value=extra
              - uses: docker/setup-buildx-action@v3
              - uses: docker/login-action@v3
                with:
                  registry: ghcr.io
                  username: ci
                  password: "${{{{ secrets.PW }}}}"
              - run: grep -c auths "$DOCKER_CONFIG/config.json"
              - id: build
                uses: docker/build-push-action@v6
                with:
                  context: .
                  push: true
                  tags: ${{{{ steps.meta.outputs.tags }}}}
                  labels: ${{{{ steps.meta.outputs.labels }}}}
              - run: echo "digest=${{{{ steps.build.outputs.digest }}}}"
        """,
        {"Dockerfile": "FROM scratch\nCOPY README /README\n"},
        secrets={"PW": "registry-pw-9"},
        env={"SHIPWAY_REGISTRY_ALIASES": f"ghcr.io={registry.host}"},
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "registry-pw-9" not in text
    assert f"registry alias: ghcr.io/demo/app:main -> {registry.host}/demo/app:main" in text
    sha = record["commit"][:7]
    tags = httpx.get(f"{registry.url}/v2/demo/app/tags/list", timeout=10).json()["tags"]
    assert sorted(tags) == sorted(["main", f"sha-{sha}", "extra"])
    steps = {s["name"]: s for s in record["jobs"][0]["steps"]}
    digest = steps["Run docker/build-push-action@v6"]["outputs"]["digest"]
    assert digest.startswith("sha256:") and f"digest={digest}" in text
    labels = json.loads(steps["Run docker/metadata-action@v5"]["outputs"]["json"])["labels"]
    assert labels["org.opencontainers.image.revision"] == record["commit"]
    pushed = sorted(e.message for e in store_events.query(store) if e.reason == "ImagePushed")
    host = registry.host
    assert pushed == sorted(f"{host}/demo/app:{t}" for t in ("main", f"sha-{sha}", "extra"))
