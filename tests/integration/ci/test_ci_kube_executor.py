"""``--executor kubernetes``: jobs as Pods on the Kubernetes API fake, whose podman kubelet
really runs them (busybox images built locally, no pull)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_images import run_buildah

pytestmark = pytest.mark.integration

Runner = Callable[..., tuple[dict[str, Any], list[str]]]


@pytest.fixture(scope="session")
def httpd_image(podman: dict[str, str], busybox_image: str) -> str:
    """A service image: busybox httpd in the foreground on :8080, serving /www/index.html."""
    buildah = partial(run_buildah, podman)

    ctr = buildah("from", busybox_image)
    buildah("run", "--isolation", "chroot", ctr, "--", "sh", "-c",
            "mkdir -p /www && echo served-by-web > /www/index.html")  # fmt: skip
    buildah("config", "--cmd", '["httpd", "-f", "-p", "8080", "-h", "/www"]', ctr)
    buildah("commit", "-q", "--rm", ctr, "localhost/ci-httpd:1")
    return "localhost/ci-httpd:1"


@pytest.fixture
def run_kube(run_wf: Runner, kube_fake: Any, podman: dict[str, str], busybox_image: str) -> Runner:
    def run(workflow: str, *files: Any, **kw: Any) -> tuple[dict[str, Any], list[str]]:
        kube = {"server": kube_fake.url, "pod_timeout": 30}
        return run_wf(workflow, *files, executor="kubernetes", runner_image=busybox_image,
                      podman_env=podman, kube=kube, **kw)  # fmt: skip

    return run


def _steps(record: dict[str, Any], job: str = "a") -> list[dict[str, Any]]:
    return next(j for j in record["jobs"] if j["id"] == job)["steps"]


def _no_pods_left(fake: Any, podman: dict[str, str]) -> None:
    env = {**os.environ, **podman}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with fake.store.lock:
            pods = [k for k in fake.store.objects if k[0] == "Pod"]
        out = subprocess.run(["podman", "ps", "-a", "-q", "--filter",
                              f"label=fake-kubelet={fake.kubelet.id}"],
                             env=env, capture_output=True, text=True).stdout  # fmt: skip
        ctrs = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], env=env,
                              capture_output=True, text=True).stdout.split()  # fmt: skip
        mine = [c for c in ctrs if c.startswith(f"fk{fake.kubelet.id}-")]
        if not pods and not out.strip() and not mine:
            return
        time.sleep(0.3)
    raise AssertionError(f"left behind: pods {pods}, podman {out} {mine}")


def test_steps_outputs_env_and_failures(run_kube: Runner, kube_fake: Any,
                                        podman: dict[str, str]) -> None:  # fmt: skip
    record, lines = run_kube(
        """
        on: push
        env: {WF: wf-level}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - id: one
                run: |
                  echo "host=$(hostname) wf=$WF ws=$GITHUB_WORKSPACE pwd=$(pwd)"
                  echo "v=from-pod" >> "$GITHUB_OUTPUT"
                  echo "CARRY=carried value" >> "$GITHUB_ENV"
                  echo "to stderr" >&2
              - run: echo "got ${{ steps.one.outputs.v }} carry=$CARRY path=$PATH"
              - id: bad
                run: exit 3
                continue-on-error: true
              - run: |
                  mkdir -p sub && echo in-sub > sub/f
              - run: cat f && pwd
                working-directory: sub
              - run: echo "outcome=${{ steps.bad.outcome }} conclusion=${{ steps.bad.conclusion }}"
              - run: exit 2
              - run: echo never runs
              - if: failure()
                run: echo after failure
        """
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "failure", text
    steps = _steps(record)
    assert [s["outcome"] for s in steps] == ["success", "success", "failure", "success",
                                             "success", "success", "failure", "skipped",
                                             "success"]  # fmt: skip
    assert steps[0]["outputs"] == {"v": "from-pod"}
    assert steps[2]["conclusion"] == "success"
    assert "host=shipway-ci-r0-a-0 wf=wf-level" in text and "to stderr" in text
    ws = next(ln.split("] ", 1)[1] for ln in lines if "] host=" in ln)
    assert ws.split("ws=")[1].split(" pwd=")[0] == ws.split(" pwd=")[1]
    assert "got from-pod carry=carried value path=/usr/local/bin:/usr/bin:/bin" in text
    assert "in-sub" in text and "outcome=failure conclusion=success" in text
    assert "Process completed with exit code 2." in text
    assert "never runs" not in text and "after failure" in text
    _no_pods_left(kube_fake, podman)


def test_service_reachable_by_id_and_secrets_masked(run_kube: Runner, httpd_image: str) -> None:
    record, lines = run_kube(
        f"""
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            services:
              web:
                image: {httpd_image}
                ports: ["8080"]
            steps:
              - run: |
                  for i in $(seq 1 50); do
                    wget -qO- http://web:8080/index.html && break
                    sleep 0.2
                  done
                  echo "port ${{{{ job.services.web.ports['8080'] }}}}"
              - run: echo "token is $T and ${{{{ secrets.TOKEN }}}}"
                env: {{T: "${{{{ secrets.TOKEN }}}}"}}
        """,
        secrets={"TOKEN": "hunter2-very-secret"},
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "served-by-web" in text and "port 8080" in text
    assert "hunter2-very-secret" not in text and "token is *** and ***" in text


def test_timeout_stops_the_step_in_the_pod(run_kube: Runner) -> None:
    record, lines = run_kube(
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: sh -c 'sleep 30; echo child done'; echo never
                timeout-minutes: 0.04
              - if: always()
                run: |
                  if cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | grep -q 'slee[p] 30'
                  then echo "sleep still running"; else echo "nothing left"; fi
        """
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "failure", text
    assert [s["outcome"] for s in _steps(record)] == ["failure", "success"]
    assert "The step exceeded its timeout" in text
    assert "] nothing left" in text and "] never" not in text and "] child done" not in text


def test_container_image_that_cannot_be_pulled(run_kube: Runner) -> None:
    record, lines = run_kube(
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            container: localhost/shipway-missing:1
            steps:
              - run: echo hi
        """
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "failure"
    assert "Pod/default/shipway-ci-r0-a" in text, text
    assert "ImagePullBackOff" in text or "ErrImagePull" in text


def test_cli_runs_a_workflow_on_the_fake(kube_fake: Any, podman: dict[str, str],
                                         busybox_image: str, new_repo: Any, tmp_path: Path,
                                         shipway_home: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from click.testing import CliRunner

    from shipway.cli.main import cli

    src = tmp_path / "src"
    new_repo(src, {".github/workflows/ci.yml": """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - id: s
                run: echo "where=pod" >> "$GITHUB_OUTPUT"; echo hello from the pod
        """})  # fmt: skip
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kube_fake.kubeconfig()))
    monkeypatch.chdir(src)
    monkeypatch.setenv("SHIPWAY_CI_IMAGE", busybox_image)
    args = ["ci", "run", "--executor", "kubernetes", "--kubeconfig", str(kubeconfig),
            "--namespace", "default", "-o", "json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["conclusion"] == "success"
    assert record["jobs"][0]["steps"][0]["outputs"] == {"where": "pod"}
    assert "hello from the pod" in result.stderr
    assert "Starting pod default/shipway-" in result.stderr


def test_pvc_work_volume(run_wf: Runner, kube_fake: Any, podman: dict[str, str],
                         busybox_image: str, tmp_path: Path) -> None:  # fmt: skip
    kube_fake.kubelet.claims["ci-work"] = str(tmp_path)  # the fake's volume for that claim
    kube = {"server": kube_fake.url, "pvc": "ci-work", "pvc_path": str(tmp_path),
            "namespace": "default", "pod_timeout": 30}  # fmt: skip
    record, lines = run_wf(
        """
        on: push
        jobs:
          p:
            runs-on: ubuntu-latest
            steps:
              - id: w
                run: echo "on=claim" >> "$GITHUB_OUTPUT"
        """,
        executor="kubernetes", runner_image=busybox_image, podman_env=podman, kube=kube,
    )  # fmt: skip
    assert record["conclusion"] == "success", "\n".join(lines)
    assert _steps(record, "p")[0]["outputs"] == {"on": "claim"}
    with kube_fake.store.lock:
        made = [o for _, k, t, o in kube_fake.store.events if k == "Pod" and t == "ADDED"]
    volumes = made[-1]["spec"]["volumes"]
    assert volumes == [{"name": "work", "persistentVolumeClaim": {"claimName": "ci-work"}}]
    assert made[-1]["metadata"]["labels"]["shipway.dev/ci-job"] == "p"
    assert 0 < made[-1]["spec"]["activeDeadlineSeconds"] <= 360 * 60 + 300


def test_cancel_stops_the_exec(kube_fake: Any, podman: dict[str, str], busybox_image: str,
                               new_repo: Any, tmp_path: Path) -> None:  # fmt: skip
    from shipway.ci.engine import Engine
    from shipway.ci.runinfo import RunInfo
    from shipway.ci.syntax.github import parse_workflow

    _repo, commit = new_repo(tmp_path / "src", {"README": "x\n"})
    wf = parse_workflow(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
        "      - run: echo sleeping; sleep 60; echo woke\n"
        "      - run: echo not after a cancel\n",
        "ci.yml",
    )
    lines: list[str] = []
    engines: list[Engine] = []

    def on_line(line: str) -> None:
        lines.append(line)
        if line.endswith("] sleeping"):
            engines[0].rs.cancel.cancel()

    info = RunInfo(run_id="rc", repo=str(tmp_path / "src"), commit=commit,
                   ref="refs/heads/main", event="push", payload={"ref": "refs/heads/main"},
                   base_dir=tmp_path / "run", executor="kubernetes", on_line=on_line,
                   runner_image=busybox_image, podman_env=podman,
                   kube={"server": kube_fake.url, "pod_timeout": 30})  # fmt: skip
    engines.append(Engine(wf, info))
    record = engines[0].run()
    text = "\n".join(lines)
    assert record["conclusion"] == "cancelled", text
    assert [s["outcome"] for s in _steps(record)] == ["cancelled", "skipped"], text
    assert "] woke" not in text and "not after a cancel" not in text


@pytest.fixture(scope="session")
def glibc_image(podman: dict[str, str], busybox_image: str) -> str:
    """busybox plus the host's glibc libraries node links, so the host's node runs in it."""
    buildah = partial(run_buildah, podman)

    node = os.path.realpath(shutil.which("node") or "node")
    libs = subprocess.run(["ldd", node], capture_output=True, text=True, check=True).stdout
    ctr = buildah("from", busybox_image)
    for line in libs.splitlines():
        path = next((w for w in line.split() if w.startswith("/")), None)
        if path:
            buildah("copy", ctr, os.path.realpath(path), path)
    buildah("commit", "-q", "--rm", ctr, "localhost/ci-kube-glibc:1")
    return "localhost/ci-kube-glibc:1"


JS_ACTION = """\
name: Shout
inputs: {word: {required: true}}
outputs: {loud: {description: upper-cased}}
runs: {using: node20, main: main.js}
"""
MAIN_JS = """\
const fs = require('fs');
const word = process.env['INPUT_WORD'];
fs.appendFileSync(process.env.GITHUB_OUTPUT, `loud=${word.toUpperCase()}\\n`);
console.log(`node on ${require('os').hostname()} says ${word}`);
"""


def test_checkout_and_javascript_action_in_the_pod(run_wf: Runner, kube_fake: Any,
                                                   podman: dict[str, str],
                                                   glibc_image: str) -> None:  # fmt: skip
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: cat README
              - id: s
                uses: ./.github/actions/shout
                with: {word: hello}
              - run: echo "loud=${{ steps.s.outputs.loud }}"
        """,
        {".github/actions/shout/action.yml": JS_ACTION, ".github/actions/shout/main.js": MAIN_JS},
        executor="kubernetes", runner_image=glibc_image, podman_env=podman,
        kube={"server": kube_fake.url, "pod_timeout": 30},
    )  # fmt: skip
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "] hello" in text and "loud=HELLO" in text
    assert "node on shipway-ci-r0-a-0 says hello" in text  # node ran in the job container


SAY_ACTION = """\
name: Say
inputs: {word: {default: hi}, code: {default: "0"}}
runs:
  using: docker
  image: docker://IMAGE
  entrypoint: sh
  args:
    - -c
    - |
      echo "said $INPUT_WORD on $(hostname)"; echo out=$INPUT_WORD >> $GITHUB_OUTPUT
      exit $INPUT_CODE
"""


def test_docker_action_runs_as_its_own_pod(run_kube: Runner, kube_fake: Any,
                                           busybox_image: str) -> None:  # fmt: skip
    record, lines = run_kube(
        """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - id: say
                uses: ./say
                with: {word: "${{ secrets.WORD }}"}
              - run: echo "out=${{ steps.say.outputs.out }}"
              - uses: ./say
                with: {code: "5"}
        """,
        {"say/action.yml": SAY_ACTION.replace("IMAGE", busybox_image)},
        secrets={"WORD": "s3cr3t-word"},
    )
    text = "\n".join(lines)
    assert [s["outcome"] for s in _steps(record)] == ["success", "success", "success",
                                                      "failure"], text  # fmt: skip
    assert "said *** on shipway-ci-r0-a-0-step-1" in text and "s3cr3t-word" not in text
    assert "Process completed with exit code 5." in text
    with kube_fake.store.lock:
        left = [k for k in kube_fake.store.objects if k[0] in ("Secret", "Pod")]
    assert left == []


def test_a_pod_left_by_an_earlier_try_is_replaced(run_kube: Runner, kube_fake: Any,
                                                   busybox_image: str) -> None:  # fmt: skip
    from kubernetes import client as kclient

    cfg = kclient.Configuration()
    cfg.host = kube_fake.url
    core = kclient.CoreV1Api(kclient.ApiClient(cfg))
    stale = {"metadata": {"name": "shipway-ci-r0-a-0", "labels": {"stale": "yes"}},
             "spec": {"containers": [{"name": "job", "image": busybox_image,
                                      "command": ["sleep", "600"]}]}}  # fmt: skip
    core.create_namespaced_pod("default", stale)
    record, lines = run_kube("on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: 'true'}]\n")
    assert record["conclusion"] == "success", "\n".join(lines)
    with kube_fake.store.lock:
        made = [o for _, k, t, o in kube_fake.store.events if k == "Pod" and t == "ADDED"]
    assert "stale" not in made[-1]["metadata"]["labels"]


def test_cli_cluster_resource_and_misused_options(
    kube_fake: Any, busybox_image: str, new_repo: Any, tmp_path: Path, store: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from click.testing import CliRunner

    from shipway.cli.main import cli
    from shipway.model.resources import parse_text
    from shipway.store import resources as stored

    cluster = f"""
apiVersion: shipway.dev/v1alpha1
kind: Cluster
metadata: {{name: fake}}
spec: {{type: kubernetes, server: "{kube_fake.url}"}}
"""
    stored.apply(store, parse_text(cluster, "cluster.yaml"))
    src = tmp_path / "src"
    new_repo(src, {".github/workflows/ci.yml": "on: push\njobs:\n  b:\n    runs-on: x\n"
                   "    steps: [{run: echo on the cluster resource}]\n"})  # fmt: skip
    monkeypatch.chdir(src)
    monkeypatch.setenv("SHIPWAY_CI_IMAGE", busybox_image)
    runner = CliRunner()
    result = runner.invoke(cli, ["ci", "run", "--executor", "kubernetes", "--cluster", "fake"])
    assert result.exit_code == 0, result.output
    assert "on the cluster resource" in result.stderr
    result = runner.invoke(cli, ["ci", "run", "--namespace", "x"])
    said = f"{result.output} {result.exception}"
    assert result.exit_code != 0 and "--namespace needs --executor kubernetes" in said
    result = runner.invoke(cli, ["ci", "run", "--executor", "kubernetes", "--cluster", "nope"])
    assert result.exit_code != 0 and "nope" in f"{result.output} {result.exception}"


def test_container_credentials_become_an_image_pull_secret(run_kube: Runner, kube_fake: Any,
                                                           busybox_image: str) -> None:  # fmt: skip
    record, lines = run_kube(
        f"""
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            container:
              image: {busybox_image}
              credentials: {{username: robot, password: "${{{{ secrets.REG }}}}"}}
            steps:
              - run: echo pulled with credentials
        """,
        secrets={"REG": "pull-pass"},
    )
    assert record["conclusion"] == "success", "\n".join(lines)
    with kube_fake.store.lock:
        events = [(k, t, o) for _, k, t, o in kube_fake.store.events]
        left = [k for k in kube_fake.store.objects if k[0] == "Secret"]
    pod = [o for k, t, o in events if k == "Pod" and t == "ADDED"][-1]
    assert pod["spec"]["imagePullSecrets"] == [{"name": "shipway-ci-r0-a-0-pull"}]
    secret = [o for k, t, o in events if k == "Secret" and t == "ADDED"][-1]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config == {
        "auths": {"localhost": {"auth": base64.b64encode(b"robot:pull-pass").decode()}}
    }
    assert left == []
