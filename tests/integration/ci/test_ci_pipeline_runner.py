"""A ``Pipeline``'s ``spec.runner``: run_event runs the jobs where it says (here: as Pods on
the Kubernetes API fake, through a stored ``Cluster``), and bad runner specs are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shipway.ci.runner import pull_request_runner, runner_settings
from shipway.ci.service import run_event
from shipway.git.repo import git
from shipway.model.errors import InputError, NotFoundError, ResourceError
from shipway.model.resources import parse_text
from shipway.store import resources as stored
from shipway.store.db import Store

pytestmark = pytest.mark.integration

WORKFLOW = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "in-pod=${{ job.container.id != '' }} host=$(cat /etc/hostname)"
  b:
    runs-on: self-hosted
    steps:
      - run: echo "b on the host"
"""


def _cluster(store: Store, name: str, kubeconfig: Path) -> None:
    text = f"""\
apiVersion: shipway.dev/v1alpha1
kind: Cluster
metadata: {{name: {name}}}
spec: {{type: kubernetes, kubeconfig: "{kubeconfig}"}}
"""
    stored.apply(store, parse_text(text, "cluster.yaml"))


def test_pipeline_runner_runs_jobs_as_pods(
    store: Store, tmp_path: Path, new_repo: Any, kube_fake: Any, busybox_image: str
) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}}
    created = httpx.post(f"{kube_fake.url}/api/v1/namespaces", json=ns)
    assert created.status_code in (201, 409), created.text
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kube_fake.kubeconfig()))
    _cluster(store, "ci-fake", kubeconfig)
    repo, commit = new_repo(tmp_path / "src", {".github/workflows/ci.yml": WORKFLOW})
    runner = {"executor": "kubernetes", "image": busybox_image, "cluster": "ci-fake",
              "namespace": "ci", "platforms": {"self-hosted": "-self-hosted"}}  # fmt: skip
    lines: list[str] = []
    (record,) = run_event(
        store, repo=str(repo.path), commit=commit, ref="refs/heads/main", event="push",
        payload={"ref": "refs/heads/main", "after": commit}, workdir=tmp_path / "work",
        vars={}, secrets={}, on_line=lines.append, runner=runner,
    )  # fmt: skip
    assert record["conclusion"] == "success", "\n".join(lines)
    text = "\n".join(lines)
    assert "in-pod=true host=" in text
    assert "b on the host" in text
    assert any("Starting pod ci/" in ln for ln in lines)  # the Pod, in namespace ci, is named


def test_runner_settings_and_refusals(store: Store, tmp_path: Path) -> None:
    assert runner_settings(store, None) == {}
    assert runner_settings(store, {"executor": "podman", "image": "img"}) == {
        "executor": "podman", "platforms": {}, "runner_image": "img"}  # fmt: skip
    with pytest.raises(NotFoundError):
        runner_settings(store, {"executor": "kubernetes", "cluster": "nope"})
    stored.apply(store, parse_text(
        "apiVersion: shipway.dev/v1alpha1\nkind: Cluster\nmetadata: {name: pm}\n"
        "spec: {type: podman}\n", "c.yaml"))  # fmt: skip
    with pytest.raises(InputError, match="not a kubernetes cluster"):
        runner_settings(store, {"executor": "kubernetes", "cluster": "pm"})
    bad = """\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {name: p}
spec:
  source: {repoURL: "git://x/y.git"}
  runner: {executor: podman, cluster: prod}
"""
    with pytest.raises(ResourceError) as info:
        parse_text(bad, "p.yaml")
    assert "p.yaml:6:" in str(info.value) and "'cluster' needs executor: kubernetes" in str(
        info.value
    )


PR_WORKFLOW = """\
on: pull_request
jobs:
  check:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: |
          echo "boxed=${{ job.container.id != '' }}"
          echo "secret=[${{ secrets.DEPLOY_KEY }}] env-secret=[${{ secrets.PROD_KEY }}]"
"""


def test_pull_requests_run_in_podman_and_forks_get_no_secrets(
    store: Store, tmp_path: Path, new_repo: Any, shipway_home: Path
) -> None:
    from shipway.ci.plan.environments import Environment

    repo, base = new_repo(tmp_path / "src", {".github/workflows/ci.yml": PR_WORKFLOW})
    git(["checkout", "-q", "-b", "feature"], repo.path)
    (repo.path / "change.txt").write_text("x\n")
    repo.add_all()
    head = repo.commit("feature")
    git(["checkout", "-q", "main"], repo.path)
    assert pull_request_runner(None)["executor"] == "podman"
    assert pull_request_runner({"executor": "host"})["executor"] == "host"  # opt-in

    def run(fork: bool, runner: dict[str, Any]) -> tuple[dict[str, Any], str]:
        lines: list[str] = []
        payload = {
            "action": "opened",
            "number": 1,
            "pull_request": {
                "number": 1,
                "head": {"ref": "feature", "sha": head},
                "base": {"ref": "main"},
            },
        }
        (record,) = run_event(
            store, repo=str(repo.path), commit=head, ref="refs/pull/1/merge",
            event="pull_request", payload=payload, workdir=tmp_path / "work", vars={},
            secrets={"DEPLOY_KEY": "repo-secret-1"}, on_line=lines.append, merge_into="main",
            environments={"prod": Environment(name="prod", secrets={"PROD_KEY": "env-secret-2"})},
            runner=runner, from_fork=fork,
        )  # fmt: skip
        return record, "\n".join(lines)

    record, text = run(True, pull_request_runner(None))
    assert record["conclusion"] == "success", text
    assert "boxed=true" in text and "secret=[] env-secret=[]" in text
    assert set(record["jobs"][0]["permissions"].values()) <= {"read", "none"}
    record, text = run(False, pull_request_runner({"executor": "host"}))
    assert record["conclusion"] == "success", text
    assert "boxed=false" in text and "secret=[***] env-secret=[***]" in text
    assert base != head
