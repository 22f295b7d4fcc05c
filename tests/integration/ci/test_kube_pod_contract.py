"""The Pod surface the Kubernetes executor relies on (create, Running, exec, logs, delete),
checked against the fake with its podman kubelet and, when ``SHIPWAY_TEST_KUBECONFIG``
names a kubeconfig, against that real cluster (image ``SHIPWAY_TEST_KUBE_IMAGE``)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes import watch as kwatch
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

pytestmark = pytest.mark.integration


class Api:
    def __init__(self, core: kclient.CoreV1Api, ns: str, image: str) -> None:
        self.core, self.ns, self.image = core, ns, image

    def pod(self, name: str, containers: list[dict[str, Any]], **spec: Any) -> None:
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                         "containers": containers, **spec}}  # fmt: skip
        self.core.create_namespaced_pod(self.ns, body)

    def wait_phase(self, name: str, phases: set[str], timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pod = self.core.read_namespaced_pod(name, self.ns)
            if pod.status.phase in phases:
                return pod
            time.sleep(0.2)
        raise AssertionError(f"pod {name} not in {phases}: {pod.status}")

    def exec(self, name: str, argv: list[str], container: str = "main") -> tuple[str, str, int]:
        ws = stream(self.core.connect_get_namespaced_pod_exec, name, self.ns, command=argv,
                    container=container, stdout=True, stderr=True, stdin=False, tty=False,
                    _preload_content=False, binary=True)  # fmt: skip
        ws.run_forever(timeout=60)
        out, err = ws.read_stdout() or b"", ws.read_stderr() or b""
        return out.decode(), err.decode(), ws.returncode


@pytest.fixture(params=["fake", "real"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    if request.param == "real":
        path = os.environ.get("SHIPWAY_TEST_KUBECONFIG")
        if not path:
            pytest.skip("SHIPWAY_TEST_KUBECONFIG is not set: no real cluster to check the "
                        "fake's pods against on this machine")  # fmt: skip
        api_client = kconfig.new_client_from_config(config_file=path)
        image = os.environ.get("SHIPWAY_TEST_KUBE_IMAGE", "busybox:1.36")
    else:
        fake = request.getfixturevalue("kube_fake")
        cfg = kclient.Configuration()
        cfg.host = fake.url
        api_client = kclient.ApiClient(cfg)
        image = request.getfixturevalue("busybox_image")
    core = kclient.CoreV1Api(api_client)
    ns = f"shipway-pods-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    try:
        yield Api(core, ns, image)
    finally:
        core.delete_namespace(ns)


SIDE = "mkdir -p /srv; echo side > /srv/x; exec httpd -f -p 8080 -h /srv"
KEEP = ["sh", "-c", "echo hello from main; exec tail -f /dev/null"]


def test_pod_runs_execs_logs_and_deletes(api: Api) -> None:
    api.pod("p", [{"name": "main", "image": api.image, "command": KEEP,
                   "env": [{"name": "GREETING", "value": "hi there"}]},
                  {"name": "side", "image": api.image,
                   "command": ["sh", "-c", SIDE]}],
            hostAliases=[{"ip": "127.0.0.1", "hostnames": ["sidecar"]}])  # fmt: skip
    pod = api.wait_phase("p", {"Running"})
    states = {s.name: s.state for s in pod.status.container_statuses}
    assert states["main"].running is not None and states["side"].running is not None

    out, err, code = api.exec("p", ["sh", "-c", 'echo "$GREETING"; echo oops >&2; exit 3'])
    assert (out, err, code) == ("hi there\n", "oops\n", 3)
    assert api.exec("p", ["true"]) == ("", "", 0)
    deadline = time.monotonic() + 30
    while True:  # the sidecar shares the network namespace; its alias resolves to localhost
        out, _, code = api.exec("p", ["wget", "-qO-", "http://sidecar:8080/x"])
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert out == "side\n"

    log = api.core.read_namespaced_pod_log("p", api.ns, container="main")
    assert "hello from main" in log
    with pytest.raises(ApiException) as err_info:
        api.core.read_namespaced_pod_log("p", api.ns)  # two containers: must name one
    assert err_info.value.status == 400

    api.core.delete_namespaced_pod("p", api.ns, grace_period_seconds=0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            api.core.read_namespaced_pod("p", api.ns)
        except ApiException as exc:
            assert exc.status == 404
            break
        time.sleep(0.3)
    else:
        raise AssertionError("pod p was not deleted")


def test_pod_terminates_with_exit_codes_seen_by_watch(api: Api) -> None:
    w = kwatch.Watch()
    phases: list[str] = []
    api.pod("done", [{"name": "main", "image": api.image, "command": ["sh", "-c", "exit 4"]}])
    for ev in w.stream(api.core.list_namespaced_pod, api.ns, timeout_seconds=120):
        pod = ev["object"]
        if pod.metadata.name == "done" and pod.status and pod.status.phase:
            phases.append(pod.status.phase)
            if pod.status.phase in ("Succeeded", "Failed"):
                w.stop()
    assert phases[-1] == "Failed"
    pod = api.core.read_namespaced_pod("done", api.ns)
    assert pod.status.container_statuses[0].state.terminated.exit_code == 4


def test_missing_image_waits_with_a_pull_error(api: Api) -> None:
    api.pod("nope", [{"name": "main", "image": "localhost/shipway-no-such-image:0"}])
    deadline = time.monotonic() + 120
    reason = ""
    while time.monotonic() < deadline and reason not in ("ErrImagePull", "ImagePullBackOff"):
        pod = api.core.read_namespaced_pod("nope", api.ns)
        assert pod.status.phase == "Pending"
        for s in pod.status.container_statuses or []:
            reason = (s.state.waiting.reason if s.state.waiting else "") or ""
        time.sleep(0.3)
    assert reason in ("ErrImagePull", "ImagePullBackOff")


def _ready(pod: Any) -> tuple[dict[str, bool], str]:
    ready = {s.name: bool(s.ready) for s in pod.status.container_statuses or []}
    cond = next((c.status for c in pod.status.conditions or [] if c.type == "Ready"), "")
    return ready, cond


def test_readiness_probe_gates_ready(api: Api) -> None:
    probe = {"exec": {"command": ["sh", "-c", "test -f /ready-now"]}, "periodSeconds": 1,
             "timeoutSeconds": 5, "failureThreshold": 1, "successThreshold": 1}  # fmt: skip
    api.pod("probed", [{"name": "main", "image": api.image, "command": KEEP},
                       {"name": "svc", "image": api.image, "command": KEEP,
                        "readinessProbe": probe}])  # fmt: skip
    api.wait_phase("probed", {"Running"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # both running, the probe failing: only main is ready
        ready, cond = _ready(api.core.read_namespaced_pod("probed", api.ns))
        if ready.get("main"):
            break
        time.sleep(0.2)
    assert ready == {"main": True, "svc": False} and cond == "False"
    assert api.exec("probed", ["touch", "/ready-now"], container="svc")[2] == 0
    while time.monotonic() < deadline:
        ready, cond = _ready(api.core.read_namespaced_pod("probed", api.ns))
        if ready.get("svc"):
            break
        time.sleep(0.2)
    assert ready == {"main": True, "svc": True} and cond == "True"
    assert api.exec("probed", ["rm", "/ready-now"], container="svc")[2] == 0
    while time.monotonic() < deadline:  # failureThreshold 1: the next failure makes it unready
        ready, cond = _ready(api.core.read_namespaced_pod("probed", api.ns))
        if not ready.get("svc"):
            break
        time.sleep(0.2)
    assert ready == {"main": True, "svc": False} and cond == "False"
