"""The prometheus provider against a real Prometheus, the job provider on the podman host.

Prometheus (Debian's package) scrapes the test's health endpoint; the
verification's query reads what it scraped. The Job runs as a podman pod
from a busybox image built here and pushed to the registry fixture; its exit
code decides the measurement.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from verify_helpers import add_freight, docs, health_server, setup

from shipway.deploy import engine
from shipway.model.resources import parse_text
from shipway.promote import lifecycle, providers, runner, verification
from shipway.promote import start as start_mod
from shipway.promote.providers import job as job_provider
from shipway.settings import Settings
from shipway.store import resources as store_resources
from shipway.store.db import Store

sys.path.insert(0, str(Path(__file__).parents[1] / "events"))
from prometheus_proc import running

pytestmark = pytest.mark.integration


def _verify(store: Store, freight: str, timeout: float = 60.0) -> dict[str, Any]:
    started = start_mod.start(store, project="demo", stage="test", freight=freight, actor="ci")
    assert runner.run(store, Settings(), started.key)["phase"] == "Succeeded"
    deadline = time.monotonic() + timeout
    while verification.unfinished(store):
        lifecycle.tick(store, Settings())
        assert time.monotonic() < deadline, "verification did not end"
        time.sleep(0.2)
    runs = sorted(store_resources.list_kind(store, "AnalysisRun", "demo"),
                  key=lambda r: r.created or 0)  # fmt: skip
    return runs[-1].status


def test_prometheus_query_decides(store: Store, tmp_path: Path) -> None:
    with health_server() as health, running(tmp_path / "prom", [{
        "job_name": "web", "static_configs": [{"targets": [urlparse(health.url).netloc]}],
    }]) as prom:  # fmt: skip
        prom.wait_for('web_ok{job="web"}')
        metric = {"name": "up", "successCondition": "len(result) == 1 && result[0] == 1",
                  "provider": {"prometheus": {"address": prom.url,
                                              "query": 'web_ok{job="web"}'}}}  # fmt: skip
        setup(store, docs(health.url, metric=metric))
        ok = _verify(store, add_freight(store, "1.0.0"))
        assert ok["phase"] == "Successful", ok
        assert ok["metricResults"][0]["measurements"][0]["value"] == "[1.0]"
        health.body = {"status": "down"}
        deadline = time.monotonic() + 30
        while prom.query('web_ok{job="web"}')[0]["value"][1] != "0":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        bad = _verify(store, add_freight(store, "1.1.0"))
        assert bad["phase"] == "Failed", bad
        assert bad["metricResults"][0]["measurements"][0]["value"] == "[0.0]"


def test_prometheus_bad_query_is_an_error(store: Store, tmp_path: Path) -> None:
    with health_server() as health, running(tmp_path / "prom", []) as prom:
        metric = {
            "name": "q",
            "consecutiveErrorLimit": 0,
            "provider": {"prometheus": {"address": prom.url, "query": "sum(("}},
        }
        setup(store, docs(health.url, metric=metric))
        got = _verify(store, add_freight(store, "1.0.0"))
        assert got["phase"] == "Error"
        assert "bad_data" in got["metricResults"][0]["measurements"][0]["message"]


def _buildah(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(["buildah", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def busybox_image(registry: Any, podman: dict[str, str],
                  tmp_path_factory: pytest.TempPathFactory) -> str:  # fmt: skip
    root = tmp_path_factory.mktemp("job-rootfs")
    (root / "bin").mkdir()
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    c = _buildah(podman, "from", "scratch")
    try:
        _buildah(podman, "copy", c, str(root), "/")
        _buildah(podman, "run", "--isolation", "chroot", c, "--", "/bin/busybox", "--install",
                 "-s", "/bin")  # fmt: skip
        ref = f"{registry.host}/verify-job:1"
        _buildah(podman, "commit", "-q", c, ref)
        _buildah(podman, "push", "--tls-verify=false", ref, f"docker://{ref}")
    finally:
        _buildah(podman, "rm", c)
    return ref


def _app(store: Store) -> None:
    doc = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
           "metadata: {name: web-test, annotations: {kargo.akuity.io/authorized-stage: "
           "'demo:test'}}\n"
           "spec: {project: default, source: {repoURL: 'https://git.example/cfg', path: .},"
           " destination: {name: local, namespace: verify}}\n")  # fmt: skip
    store_resources.apply(store, parse_text(doc, "app.yaml"))
    store_resources.set_status(store, "Application", "web-test",
                               {"health": {"status": "Healthy"}}, "argocd")  # fmt: skip


def test_job_on_the_podman_host(store: Store, busybox_image: str, registry: Any,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("SHIPWAY_INSECURE_REGISTRIES", registry.host)
    target = engine.local_target(Settings())
    try:
        with health_server() as health:
            job = {"spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "check", "image": busybox_image,
                                "command": ["/bin/sh", "-c", "{{args.script}}"]}]}}}}  # fmt: skip
            metric = {"name": "smoke", "provider": {"job": job}}
            setup(store, docs(health.url, metric=metric, args={"script": "exit 0"}))
            _app(store)
            ok = _verify(store, add_freight(store, "1.0.0"), timeout=120)
            assert ok["phase"] == "Successful", ok
            (m,) = ok["metricResults"][0]["measurements"]
            assert m["metadata"]["job"].startswith("batch/Job/verify/")
            stage = store_resources.get(store, "Stage", "test", "demo")
            stage.body["spec"]["verification"]["args"][-1]["value"] = "echo bad; exit 3"
            store_resources.apply(store, [stage])
            bad = _verify(store, add_freight(store, "1.1.0"), timeout=120)
            assert bad["phase"] == "Failed", bad
            last = sorted(store_resources.list_kind(store, "AnalysisRun", "demo"),
                          key=lambda r: r.created or 0)[-1]  # fmt: skip
            ctx = providers.Context(store, Settings(), "demo", "test", last.name)
            assert target.live(job_provider._app(ctx)) == {}  # the ended Job was removed
    finally:
        target.clean()
