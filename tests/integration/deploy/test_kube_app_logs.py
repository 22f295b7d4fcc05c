"""``shipway app logs NAME [-c CONTAINER] [-f]`` on Kubernetes: the pods' ``log`` API of the
fake (``tests/fake_kube``, text the test writes), as ``test_app_tree_logs`` checks podman."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from deploy_helpers import commit, deployment, kube_app, write

from fake_kube.server import FakeKube
from shipway.deploy import engine
from shipway.store import resources as store_resources

pytestmark = pytest.mark.integration

SHIPWAY = str(Path(sys.executable).with_name("shipway"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPWAY_COLOR": "never"}
    return subprocess.run([SHIPWAY, *args], capture_output=True, text=True, env=env,
                          check=False, timeout=60)  # fmt: skip


def _pod(fake: FakeKube, name: str) -> None:
    """A Pod of the Deployment (as its ReplicaSet would make it), through the API."""
    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "team", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "httpd", "image": "web:1"},
                                    {"name": "side", "image": "side:1"}]}}  # fmt: skip
    req = urllib.request.Request(f"{fake.url}/api/v1/namespaces/team/pods", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    urllib.request.urlopen(req, timeout=10).close()


def test_app_logs_on_kubernetes(deploy_env, config_repo, fake: FakeKube) -> None:
    url, work = config_repo
    web = deployment("registry.example/web:1")
    web["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "side:1"})
    write(work.path, "apps/k/web.yaml", [web])
    commit(work, "k")
    store_resources.apply(deploy_env.store, kube_app(url, fake.url, "kapp", "apps/k"))
    res = engine.reconcile(deploy_env.store, "kapp", settings=deploy_env.settings)
    assert res.phase == "Succeeded", res.message
    _pod(fake, "web-7d9f-abcde")
    fake.logs.write("team", "web-7d9f-abcde", "listening on :8080\nGET /\n", container="httpd")
    fake.logs.write("team", "web-7d9f-abcde", "side ready\n", container="side")

    both = _cli("app", "logs", "kapp")
    assert both.returncode == 0, both.stderr
    assert both.stdout.splitlines() == [
        "[pod/web-7d9f-abcde/httpd] listening on :8080",
        "[pod/web-7d9f-abcde/httpd] GET /",
        "[pod/web-7d9f-abcde/side] side ready",
    ]
    one = _cli("app", "logs", "kapp", "-c", "httpd")
    assert one.returncode == 0 and one.stdout == "listening on :8080\nGET /\n", one.stderr
    bad = _cli("app", "logs", "kapp", "-c", "nosuch")
    assert bad.returncode == 3
    assert "container nosuch is not valid" in bad.stderr and "httpd" in bad.stderr
    other = _cli("app", "logs", "kapp", "--workload", "other")
    assert other.returncode == 3 and "no pods found" in other.stderr

    # -f: the lines so far, then each new one as the container writes it, until it exits
    env = {**os.environ, "SHIPWAY_COLOR": "never"}
    proc = subprocess.Popen([SHIPWAY, "app", "logs", "kapp", "-c", "httpd", "-f"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert [proc.stdout.readline() for _ in range(2)] == ["listening on :8080\n", "GET /\n"]
        fake.logs.write("team", "web-7d9f-abcde", "GET /health\n", container="httpd")
        assert proc.stdout.readline() == "GET /health\n"
        fake.logs.end("team", "web-7d9f-abcde", container="httpd")
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert out == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
