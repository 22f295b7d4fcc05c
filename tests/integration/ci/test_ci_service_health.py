"""Service health checks (``--health-*`` options) waited for before the first step, on the
podman executor and on the kubernetes executor against the fake (whose kubelet runs the
readinessProbes); the options mapping and the pod template on the stored Pod object."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from ci_images import run_buildah

pytestmark = pytest.mark.integration

Runner = Callable[..., tuple[dict[str, Any], list[str]]]

# serves /www/index.html only after a delay, so a step that reads it at once fails unless
# the job waited for the service's health check
SLOW = "sleep 2; mkdir -p /www; echo slow-ready > /www/index.html; exec httpd -f -p 8080 -h /www"
HEALTHY = ("--health-cmd 'wget -qO- http://127.0.0.1:8080/index.html' --health-interval 1s "
           "--health-timeout 5s --health-retries 20")  # fmt: skip
NEVER = "--health-cmd 'test -f /never' --health-interval 1s --health-timeout 2s --health-retries 2"


def _slow_image(podman: dict[str, str], busybox_image: str, delay: int, name: str) -> str:
    buildah = partial(run_buildah, podman)

    ctr = buildah("from", busybox_image)
    buildah(
        "run",
        "--isolation",
        "chroot",
        ctr,
        "--",
        "sh",
        "-c",
        "printf '#!/bin/sh\\nexec sleep 1000\\n' > /bin/idle && chmod +x /bin/idle",
    )
    script = SLOW.replace("sleep 2;", f"sleep {delay};")
    buildah("config", "--cmd", f'["sh", "-c", "{script}"]', ctr)
    buildah("commit", "-q", "--rm", ctr, name)
    return name


@pytest.fixture(scope="session")
def slow_image(podman: dict[str, str], busybox_image: str) -> str:
    return _slow_image(podman, busybox_image, 2, "localhost/ci-slow-httpd:1")


@pytest.fixture(scope="session")
def slower_image(podman: dict[str, str], busybox_image: str) -> str:
    """Ready only after 60 s: a step that does not wait fails however loaded the machine is."""
    return _slow_image(podman, busybox_image, 60, "localhost/ci-slower-httpd:1")


@pytest.fixture(scope="session")
def checked_image(podman: dict[str, str], slow_image: str) -> str:
    """The slow service with a HEALTHCHECK of its own (docker image format keeps it)."""
    buildah = partial(run_buildah, podman)

    ctr = buildah("from", slow_image)
    buildah("config", "--healthcheck", "CMD-SHELL wget -qO- http://127.0.0.1:8080/index.html",
            "--healthcheck-interval", "1s", "--healthcheck-retries", "20", ctr)  # fmt: skip
    buildah("commit", "-q", "--rm", "--format", "docker", ctr, "localhost/ci-checked-httpd:1")
    return "localhost/ci-checked-httpd:1"


def _workflow(image: str, options: str, extra: str = "") -> str:
    return f"""
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            services:
              web:
                image: {image}
                options: >-
                  {options}{extra}
            steps:
              - run: wget -qO- http://web:8080/index.html
        """


@pytest.fixture
def run_kube(run_wf: Runner, kube_fake: Any, podman: dict[str, str], busybox_image: str) -> Runner:
    def run(workflow: str, **kw: Any) -> tuple[dict[str, Any], list[str]]:
        kube = {"server": kube_fake.url, "pod_timeout": 30, **kw.pop("kube", {})}
        return run_wf(workflow, executor="kubernetes", runner_image=busybox_image,
                      podman_env=podman, kube=kube, **kw)  # fmt: skip

    return run


def _containers(podman: dict[str, str], run_id: str) -> list[str]:
    out = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"],
                         env={**os.environ, **podman}, capture_output=True, text=True)  # fmt: skip
    return [n for n in out.stdout.split() if n.startswith(f"shipway-ci-{run_id}-")]


def test_podman_waits_for_a_healthy_service(
    run_wf: Runner, podman: dict[str, str], busybox_image: str, slow_image: str
) -> None:
    record, lines = run_wf(_workflow(slow_image, HEALTHY), executor="podman",
                           runner_image=busybox_image, podman_env=podman)  # fmt: skip
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "Waiting for all services to be ready" in text and "web service is healthy." in text
    assert "slow-ready" in text
    assert _containers(podman, record["id"]) == []


def test_podman_waits_for_the_image_healthcheck(
    run_wf: Runner, podman: dict[str, str], busybox_image: str, checked_image: str
) -> None:
    record, lines = run_wf(_workflow(checked_image, "--hostname web"), executor="podman",
                           runner_image=busybox_image, podman_env=podman)  # fmt: skip
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "web service is healthy." in text and "slow-ready" in text


def test_podman_without_the_wait_the_first_step_would_fail(
    run_wf: Runner, podman: dict[str, str], busybox_image: str, slower_image: str
) -> None:  # fmt: skip
    """The same service without a health check: not waited for, so the step fails (this is
    what makes the test above mean something)."""
    record, lines = run_wf(_workflow(slow_image, "--hostname web"), executor="podman",
                           runner_image=busybox_image, podman_env=podman)  # fmt: skip
    text = "\n".join(lines)
    assert record["conclusion"] == "failure", text
    assert "Waiting for all services" not in text


def test_podman_unhealthy_service_fails_the_job(
    run_wf: Runner, podman: dict[str, str], busybox_image: str, slow_image: str
) -> None:
    record, lines = run_wf(_workflow(slow_image, NEVER), executor="podman",
                           runner_image=busybox_image, podman_env=podman)  # fmt: skip
    text = "\n".join(lines)
    assert record["conclusion"] == "failure", text
    assert "Failed to initialize, web service is unhealthy." in text
    assert "slow-ready" not in text
    assert record["jobs"][0]["steps"] == [] or all(
        s["outcome"] != "success" for s in record["jobs"][0]["steps"]
    )
    assert _containers(podman, record["id"]) == []


def test_kube_waits_for_the_readiness_probe(
    run_kube: Runner, kube_fake: Any, slow_image: str
) -> None:
    record, lines = run_kube(_workflow(slow_image, HEALTHY))
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "Waiting for all services to be ready" in text and "web service is healthy." in text
    assert "slow-ready" in text
    with kube_fake.store.lock:
        pod = [o for _, k, t, o in kube_fake.store.events if k == "Pod" and t == "ADDED"][-1]
    svc = next(c for c in pod["spec"]["containers"] if c["name"] == "svc-web")
    assert svc["readinessProbe"]["exec"]["command"] == [
        "/bin/sh",
        "-c",
        "wget -qO- http://127.0.0.1:8080/index.html",
    ]
    assert svc["readinessProbe"]["periodSeconds"] == 1
    assert svc["readinessProbe"]["failureThreshold"] == 20


def test_kube_unhealthy_service_fails_the_job(run_kube: Runner, kube_fake: Any,
                                              slow_image: str) -> None:  # fmt: skip
    record, lines = run_kube(_workflow(slow_image, NEVER))
    text = "\n".join(lines)
    assert record["conclusion"] == "failure", text
    assert "Failed to initialize, web service is unhealthy." in text
    assert "slow-ready" not in text
    with kube_fake.store.lock:  # the Pod is deleted with the failed job
        assert [k for k in kube_fake.store.objects if k[0] == "Pod"] == []


def test_kube_options_volumes_and_pod_template(
    run_kube: Runner, kube_fake: Any, slow_image: str, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "note").write_text("from the host\n")
    template = tmp_path / "pod.yaml"
    template.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {team: ci}\n"
        "  annotations: {note: templated}\n"
        "spec:\n  nodeSelector: {pool: ci}\n  serviceAccountName: runner\n"
        "  priorityClassName: low\n  tolerations: [{key: ci, operator: Exists}]\n"
        "  containers:\n  - name: job\n    resources: {requests: {cpu: 100m}}\n"
        "    env: [{name: FROM_TEMPLATE, value: tpl}]\n"
    )
    record, lines = run_kube(
        f"""
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            container:
              image: {slow_image}
              options: --cpus 1.5 -m 256m --user 0 --hostname x
            services:
              side:
                image: {slow_image}
                options: >-
                  --entrypoint idle -e GREETING=hi --workdir /bin --memory 64m
                  --privileged --label a=b
                volumes: ["{shared}:/shared:ro", "/scratch"]
            steps:
              - run: echo "tpl=$FROM_TEMPLATE"
        """,
        kube={"pod_template": str(template)},
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "tpl=tpl" in text
    assert "Job container: options not used on Kubernetes: --hostname" in text
    assert "Service side: options not used on Kubernetes: --label" in text
    with kube_fake.store.lock:
        pod = [o for _, k, t, o in kube_fake.store.events if k == "Pod" and t == "ADDED"][-1]
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"]["team"] == "ci" and meta["labels"]["app.kubernetes.io/managed-by"]
    assert meta["annotations"] == {"note": "templated"}
    assert spec["nodeSelector"] == {"pool": "ci"} and spec["serviceAccountName"] == "runner"
    assert spec["priorityClassName"] == "low"
    assert spec["tolerations"] == [{"key": "ci", "operator": "Exists"}]
    job, side = spec["containers"]
    assert job["resources"] == {"requests": {"cpu": "100m"},
                                "limits": {"cpu": "1500m", "memory": "256Mi"}}  # fmt: skip
    assert job["securityContext"] == {"runAsUser": 0}
    assert {"name": "FROM_TEMPLATE", "value": "tpl"} in job["env"]
    assert side["command"] == ["idle"] and side["workingDir"] == "/bin"
    assert {"name": "GREETING", "value": "hi"} in side["env"]
    assert side["resources"] == {"limits": {"memory": "64Mi"}}
    assert side["securityContext"] == {"privileged": True}
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in side["volumeMounts"]}
    assert vols[mounts["/shared"]["name"]]["hostPath"] == {"path": str(shared)}
    assert mounts["/shared"]["readOnly"] is True
    assert vols[mounts["/scratch"]["name"]]["emptyDir"] == {}


def test_kube_bad_pod_template_names_file_and_line(run_kube: Runner, tmp_path: Path) -> None:
    template = tmp_path / "bad.yaml"
    template.write_text("kind: Pod\nspec:\n  containers:\n  - image: x\n")
    record, lines = run_kube("on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: 'true'}]\n",
                             kube={"pod_template": str(template)})  # fmt: skip
    text = "\n".join(lines)
    assert record["conclusion"] == "failure"
    assert f"{template}:4:5: each container needs a name" in text, text


def test_cli_checks_the_pod_template_before_running(
    new_repo: Any, tmp_path: Path, shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from shipway.cli.main import cli
    from shipway.model.errors import InputError

    src = tmp_path / "src"
    new_repo(src, {".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: x\n"
                   "    steps: [{run: echo should not run}]\n"})  # fmt: skip
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nspec:\n  containers:\n  - image: x\n")
    monkeypatch.chdir(src)
    runner = CliRunner()
    result = runner.invoke(cli, ["ci", "run", "--executor", "kubernetes",
                                 "--kube-pod-template", str(bad)])  # fmt: skip
    assert isinstance(result.exception, InputError), result.output
    assert result.exception.subject == f"{bad}:4:5"
    assert "each container needs a name" in result.exception.message
    assert "should not run" not in result.output
    result = runner.invoke(cli, ["ci", "run", "--kube-pod-template", str(bad)])
    assert result.exit_code != 0
    assert "--kube-pod-template needs --executor kubernetes" in f"{result.output}{result.exception}"
