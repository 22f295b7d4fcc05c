"""``shipway.cluster.app_pods`` on Kubernetes: an app's workload pods and their logs.

The fake API server with its podman kubelet (no real cluster runs here): a
Deployment labelled for the app selects a Pod that really runs (busybox, which
prints two lines); ``pods`` finds it under its Deployment, ``logs`` reads it
through the pods' ``log`` API, with ``follow`` until the container ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_kube import resources
from fake_kube.server import FakeKube
from shipway import cluster
from shipway.cluster import INSTANCE_LABEL, app_pods
from shipway.cluster.kubernetes import KubernetesTarget
from shipway.model.errors import NotFoundError

pytestmark = pytest.mark.integration


def _buildah(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(["buildah", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def fake(podman: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKube]:
    root = tmp_path_factory.mktemp("busybox-rootfs")
    (root / "bin").mkdir()
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    ctr = _buildah(podman, "from", "scratch")
    _buildah(podman, "copy", ctr, str(root), "/")
    _buildah(podman, "run", "--isolation", "chroot", ctr, "--", "/bin/busybox", "--install",
             "-s", "/bin")  # fmt: skip
    _buildah(podman, "commit", "-q", "--rm", ctr, "localhost/cli-busybox:1")
    server = FakeKube(podman_env=podman)
    yield server
    cluster.close_all()
    server.close()


def _create(fake: FakeKube, plural: str, group: str, obj: dict) -> None:
    kind = resources.BY_PATH[(group, "v1", plural)]
    with fake.store.lock:
        fake.store.create(kind, "default", obj)


def test_pods_of_a_workload_and_their_logs(fake: FakeKube, tmp_path: Path) -> None:
    labels = {INSTANCE_LABEL: "web"}
    _create(fake, "deployments", "apps", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}},
    })  # fmt: skip
    _create(fake, "pods", "", {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": "localhost/cli-busybox:1",
                                 "command": ["/bin/sh", "-c", "echo hello kube; echo bye"]}]},
    })  # fmt: skip
    target = KubernetesTarget({"server": fake.url}, watch=False)
    found: dict = {}
    end = time.monotonic() + 180  # the kubelet starts a podman pod: slow on a loaded machine
    while time.monotonic() < end:
        found = app_pods.pods(target, "web")
        pods = found.get(("Deployment", "default", "web")) or []
        if pods and pods[0]["phase"] in ("Succeeded", "Failed"):
            break
        time.sleep(0.5)
    assert list(found) == [("Deployment", "default", "web")]
    [pod] = found[("Deployment", "default", "web")]
    status = app_pods._core(target).read_namespaced_pod("web-1", "default").status
    assert (pod["name"], pod["containers"], pod["phase"]) == ("web-1", ["main"], "Succeeded"), (
        status
    )

    lines: list[str] = []
    app_pods.logs(target, [pod], None, False, lines.append)
    assert lines == ["hello kube", "bye"]
    lines.clear()
    app_pods.logs(target, [pod], "main", True, lines.append)  # follow ends with the container
    assert lines == ["hello kube", "bye"]
    with pytest.raises(NotFoundError, match="container other is not valid"):
        app_pods.logs(target, [pod], "other", False, lines.append)
