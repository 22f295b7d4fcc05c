"""Tekton TaskRuns and PipelineRuns on ``--executor kubernetes``: a TaskRun is one Pod of the
Kubernetes API fake (whose podman kubelet really runs it), each step a container of it,
workspaces and ``/tekton/results`` its volumes, sidecars on its localhost."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from test_tekton_run import SIDECAR, TASKRUN

from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.runtime.host import Cancel

pytestmark = pytest.mark.integration


def _run(text: str, tmp_path: Path, kube_fake: Any, podman: dict[str, str],
         image: str) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    lines: list[str] = []
    opts = RunOptions(base_dir=tmp_path / "ci", pvc_dir=tmp_path / "pvc",
                      podman_home=tmp_path / "podman-home", on_line=lines.append,
                      executor="kubernetes", podman_env=podman,
                      kube={"server": kube_fake.url, "pod_timeout": 60})  # fmt: skip
    text = textwrap.dedent(text).replace("image: busybox", f"image: {image}")
    records = run_files(None, [(text, "run.yaml")], opts, Cancel())
    assert len(records) == 1
    return records[0], lines


def _no_pods(fake: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with fake.store.lock:
            if not [k for k in fake.store.objects if k[0] == "Pod"]:
                return
        time.sleep(0.2)
    raise AssertionError("a Pod was left behind")


def test_a_taskrun_is_one_pod_with_a_container_per_step(
    tmp_path: Path, kube_fake: Any, podman: dict[str, str], busybox_image: str
) -> None:
    created: list[dict[str, Any]] = []
    original = kube_fake.kubelet.created

    def spy(pod: dict[str, Any]) -> None:
        created.append(pod)
        original(pod)

    kube_fake.kubelet.created = spy
    try:
        record, lines = _run(TASKRUN, tmp_path, kube_fake, podman, busybox_image)
    finally:
        kube_fake.kubelet.created = original
    status = record["status"]
    assert status["conditions"][0]["reason"] == "Succeeded", lines
    assert status["results"] == [
        {"name": "greeting", "type": "string", "value": "hi tekton"},
        {"name": "sizes", "type": "array", "value": ["1", "2"]},
    ]
    assert [s["terminated"]["exitCode"] for s in status["steps"]] == [0, 1, 0]
    assert "[step-say] hello tekton a b" in lines
    assert "[step-may-fail] before" in lines and "[step-may-fail] not-reached" not in lines
    assert "[step-write] run=greet bound=true" in lines
    assert len(created) == 1, "one Pod for the TaskRun"
    containers = created[0]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["step-say", "step-may-fail", "step-write"]
    mounts = {m["mountPath"] for m in containers[0]["volumeMounts"]}
    assert {"/tekton/results", "/tekton/steps", "/workspace", "/data"} <= mounts
    _no_pods(kube_fake)


def test_a_failing_step_and_a_pipeline_result_on_kubernetes(
    tmp_path: Path, kube_fake: Any, podman: dict[str, str], busybox_image: str
) -> None:
    text = """\
    apiVersion: tekton.dev/v1
    kind: PipelineRun
    metadata: {name: two}
    spec:
      pipelineSpec:
        results: [{name: out, value: $(tasks.second.results.echoed)}]
        tasks:
          - name: first
            taskSpec:
              results: [{name: word}]
              steps:
                - {name: w, image: busybox, script: "printf kube > $(results.word.path)"}
          - name: second
            params: [{name: got, value: $(tasks.first.results.word)}]
            taskSpec:
              params: [{name: got}]
              results: [{name: echoed}]
              steps:
                - name: e
                  image: busybox
                  command: [sh, -c]
                  args: ["printf '%s-ok' $(params.got) > $(results.echoed.path)"]
          - name: broken
            runAfter: [second]  # in parallel, its failure could stop the run before second
            taskSpec:
              steps:
                - {name: b, image: busybox, script: "echo failing; exit 4"}
                - {name: never, image: busybox, script: "echo never"}
    """
    record, lines = _run(text, tmp_path, kube_fake, podman, busybox_image)
    assert record["conclusion"] == "failure", lines
    assert record["results"] == {"out": "kube-ok"}
    jobs = {j["id"]: j for j in record["jobs"]}
    assert jobs["broken"]["status"]["steps"][0]["terminated"]["exitCode"] == 4
    assert [s["outcome"] for s in jobs["broken"]["steps"]] == ["failure", "skipped"]
    assert "[broken] [step-b] failing" in lines and "[broken] [step-never] never" not in lines
    _no_pods(kube_fake)


def test_a_sidecar_answers_on_the_pods_localhost(
    tmp_path: Path, kube_fake: Any, podman: dict[str, str], busybox_image: str
) -> None:
    record, lines = _run(SIDECAR.replace("PORT", "8089"), tmp_path, kube_fake, podman,
                         busybox_image)  # fmt: skip
    assert record["conclusion"] == "success", lines
    assert "[step-get] from-sidecar" in lines
    _no_pods(kube_fake)


def test_the_controller_runs_a_listeners_pipelinerun_on_the_pipelines_cluster(
    store: Any, tmp_path: Path, new_repo: Any, kube_fake: Any, podman: dict[str, str],
    busybox_image: str,
) -> None:  # fmt: skip
    from test_tekton_triggers import SHOW, TRIGGERS

    from shipway.ci.service import run_event
    from shipway.model.resources import parse_text
    from shipway.store import resources as stored

    cluster = ("apiVersion: shipway.dev/v1alpha1\nkind: Cluster\nmetadata: {name: fake}\n"
               f"spec: {{type: kubernetes, server: '{kube_fake.url}'}}\n")  # fmt: skip
    stored.apply(store, parse_text(cluster + "---\n" + TRIGGERS, "t.yaml"))
    show = SHOW.replace(
        "          - name: s\n", f"          - name: s\n            image: {busybox_image}\n"
    )
    repo, commit = new_repo(tmp_path / "src", {".tekton/show.yaml": show})
    lines: list[str] = []
    payload = {"ref": "refs/heads/main", "after": commit}
    records = run_event(store, repo=str(repo.path), commit=commit, ref="refs/heads/main",
                        event="push", payload=payload, workdir=tmp_path / "work", vars={},
                        secrets={}, on_line=lines.append, namespace="default",
                        runner={"executor": "kubernetes", "cluster": "fake"})  # fmt: skip
    run = next(r for r in records if r["conclusion"] == "success")
    assert f"[show] [step-s] said hello push {commit} {commit[:7]}" in lines
    assert any("Starting pod" in line and "step-s" in line for line in lines), lines
    assert run["name"].startswith("build-")
    _no_pods(kube_fake)


def test_a_step_timeout_kills_the_step_in_its_container(
    tmp_path: Path, kube_fake: Any, podman: dict[str, str], busybox_image: str
) -> None:
    text = """\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {name: slow}
    spec:
      taskSpec:
        steps:
          - name: nap
            image: busybox
            timeout: 2s
            script: |
              echo napping
              sleep 120
              echo woke
          - {name: after, image: busybox, script: echo after}
    """
    record, lines = _run(text, tmp_path, kube_fake, podman, busybox_image)
    assert record["conclusion"] == "failure", lines
    assert "[step-nap] napping" in lines and "[step-nap] woke" not in lines
    assert "[step-nap] timed out after 2.0s" in lines
    steps = record["status"]["steps"]
    assert steps[0]["terminated"]["reason"] == "TimeoutExceeded"
    assert "[step-after] after" not in lines
    _no_pods(kube_fake)
