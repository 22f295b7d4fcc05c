"""The seed's Tekton pipeline through the real controller: CI, image, config commit, deploy.

A ``shipway controller`` process on loopback; the source and config
repositories on the git daemon, each with the controller's post-receive hook;
the Pipeline's source holds the examples/tekton tasks and Pipeline with a
Pipelines-as-Code PipelineRun of it, on the podman executor (the git steps in
a git image built here, served by the registry under ``ghcr.io``'s alias). A
push runs git-clone, buildah (shipway's builder on the host, pushing to the
registry) and git-update-deployment (which commits the
built digest into the kustomization and pushes); the controller hears that
push, syncs the Application onto podman, and the one release record of the
source commit holds the run, the image and the config commit the run made.
The same chain as a GitHub Actions job (``[github]``: build and push, the
digest a job output, then commit it) ends in the same one release.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tekton_images import build_git_image

from cli_runner import run as cli

sys.path.insert(0, str(Path(__file__).parents[1] / "controller"))
from controller_proc import PATH, ControllerProc

from shipway.controller.hooks import install_post_receive
from shipway.deploy import engine
from shipway.git.repo import Repo
from shipway.model.resources import parse_text
from shipway.runtime.ports import free_port
from shipway.settings import Settings
from shipway.store import resources as resource_store

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tekton"
PAC = {"pipelinesascode.tekton.dev/on-event": "[push]",
       "pipelinesascode.tekton.dev/on-target-branch": "[main]"}  # fmt: skip


def _tekton_files() -> dict[str, str]:
    """The example's files, its PipelineRun picked as Pipelines-as-Code picks one."""
    files = {f".tekton/{p.name}": p.read_text() for p in sorted(EXAMPLES.glob("*.yaml"))
             if p.name != "pipeline.yaml"}  # fmt: skip
    pipeline, run = yaml.safe_load_all((EXAMPLES / "pipeline.yaml").read_text())
    run["metadata"]["annotations"] = PAC
    run["spec"]["params"] = [
        {"name": "repo-url", "value": "{{ repo_url }}"},
        {"name": "revision", "value": "{{ revision }}"},
        {"name": "image", "value": "{{ IMAGE }}"},
        {"name": "config-repo-url", "value": "{{ CONFIG_REPO }}"},
    ]
    files[".tekton/pipeline.yaml"] = yaml.safe_dump_all([pipeline, run], sort_keys=False)
    return files


# The same chain as a GitHub Actions job: build and push, then commit the digest.
WORKFLOW = """\
on: {push: {branches: [main]}}
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      digest: ${{ steps.build.outputs.digest }}
    steps:
      - uses: actions/checkout@v4
      - id: build
        run: |
          digest=$(shipway image build --no-sbom --push -t "${{ vars.IMAGE }}:$GITHUB_SHA" \\
            -o 'jsonpath={.digest}' .)
          echo "digest=$digest" >> "$GITHUB_OUTPUT"
      - env: {DIGEST: "${{ steps.build.outputs.digest }}", IMAGE: "${{ vars.IMAGE }}"}
        run: |
          git clone -q "${{ vars.CONFIG_REPO }}" config && cd config
          k=overlays/dev/kustomization.yaml
          printf 'resources:\\n- ../../base\\nimages:\\n- name: app\\n' > $k
          printf '  newName: %s\\n  digest: %s\\n' "$IMAGE" "$DIGEST" >> $k
          git -c user.name=ci -c user.email=ci@shipway.local \\
            commit -qam "[overlays/dev] image $IMAGE@$DIGEST"
          git push -q origin HEAD:main
"""


def _repo(path: Path, files: dict[str, str], url: str) -> Repo:
    repo = Repo.init(path)
    repo.run("remote", "add", "origin", url)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    repo.add_all()
    repo.commit("init")
    return repo


def _config(image: str, port: int) -> dict[str, str]:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "web", "image": "app", "ports": [{"containerPort": 8080}]}]}}},
    }  # fmt: skip
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "selector": {"app": "web"},
                 "ports": [{"port": 8080, "targetPort": 8080, "nodePort": port}]},
    }  # fmt: skip
    return {
        "base/deployment.yaml": yaml.safe_dump(deployment),
        "base/service.yaml": yaml.safe_dump(service),
        "base/kustomization.yaml": "resources:\n- deployment.yaml\n- service.yaml\n",
        "overlays/dev/kustomization.yaml": (
            f"resources:\n- ../../base\nimages:\n- name: app\n  newName: {image}\n  newTag: none\n"
        ),
    }


def _resources(src_url: str, config_url: str, image: str, registry: str, ci: str) -> str:
    runner = (f'  runner: {{executor: podman}}\n  registryAliases: {{docker.io: "{registry}", '
              f'ghcr.io: "{registry}"}}\n') if ci == "tekton" else ""  # fmt: skip
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: {{name: seed}}
spec:
  source: {{repoURL: "{src_url}", branches: [main]}}
  applications: [web-dev]
{runner}  vars: {{IMAGE: "{image}", CONFIG_REPO: "{config_url}"}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web-dev}}
spec:
  project: default
  source: {{repoURL: "{config_url}", path: overlays/dev, targetRevision: main}}
  destination: {{name: local, namespace: dev}}
  syncPolicy: {{automated: {{prune: true}}}}
"""


@pytest.fixture
def seed_controller(shipway_home: Path, registry: Any) -> Iterator[ControllerProc]:
    shipway_home.mkdir(parents=True, exist_ok=True)
    # /usr/sbin: podman's network helper (netavark) runs the firewall tools found there
    ctl = ControllerProc(shipway_home, SHIPWAY_INSECURE_REGISTRIES=registry.host,
                         PATH=f"{PATH}:/usr/sbin:/sbin")  # fmt: skip
    try:
        yield ctl
    finally:
        ctl.kill()
        ctl.store.close()
        engine.local_target(Settings(home=shipway_home, database_url="")).clean()


def _wait(what: str, probe: Any, ctl: ControllerProc, timeout: float = 240.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"no {what} in {timeout:.0f} s\n{ctl.log()[-6000:]}")


@pytest.mark.timeout(900)  # podman is slow under load
@pytest.mark.parametrize("ci", ["tekton", "github"])
def test_the_seed_pipeline_deploys_and_one_release_holds_it(
    ci: str, tmp_path: Path, seed_controller: ControllerProc, git_server: Any, registry: Any,
    podman: dict[str, str], busybox_image: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    base = f"{registry.host}/library/busybox:latest"
    git_image = build_git_image(podman, tmp_path, "localhost/shipway-git:1")
    for local, target in ((busybox_image, base), (git_image, f"{registry.host}/shipway/git:1")):
        subprocess.run(["podman", "push", "-q", "--tls-verify=false", local, target],
                       env={**os.environ, **podman}, check=True, capture_output=True)  # fmt: skip
    ctl = seed_controller.start()
    src_url, config_url = git_server.bare(f"seed-{ci}/app"), git_server.bare(f"seed-{ci}/config")
    for url in (src_url, config_url):
        install_post_receive(git_server.base / url.split("/", 3)[3], ctl.url, url,
                             ctl.tokens.git(url))  # fmt: skip
    image, port = f"{registry.host}/seed-{ci}/app", free_port()
    config = _repo(tmp_path / "config", _config(image, port), config_url)
    config.run("push", "-q", "origin", "HEAD:main")
    resource_store.apply(
        ctl.store, parse_text(_resources(src_url, config_url, image, registry.host, ci), "r.yaml")
    )
    app = _repo(tmp_path / "app", {
        **(_tekton_files() if ci == "tekton" else {".github/workflows/ci.yml": WORKFLOW}),
        "Dockerfile": f"FROM {base}\nCOPY index.html /www/\n"
                      'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
        "index.html": "hello from the seed pipeline\n"}, src_url)  # fmt: skip
    commit = app.run("rev-parse", "HEAD").strip()
    app.run("push", "-q", "origin", "HEAD:main")  # the hook tells the controller

    (run,) = ctl.wait_runs(commit, 1, timeout=400)
    assert run["conclusion"] == "success", ctl.log()[-6000:]
    digest = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--format",
                             "{{.Digest}}", f"docker://{image}:{commit}"], check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    if ci == "tekton":
        assert run["results"]["image-digest"] == digest
    else:
        assert run["jobs"][0]["outputs"]["digest"] == digest
    check = tmp_path / "check"
    subprocess.run(["git", "clone", "-q", config_url, str(check)], check=True)
    head = subprocess.run(["git", "-C", str(check), "log", "-1", "--format=%H %s"], check=True,
                          capture_output=True, text=True).stdout.split(" ", 1)  # fmt: skip
    if ci == "tekton":
        assert head[0] == run["results"]["config-commit"]
    assert head[1].strip() == f"[overlays/dev] image {image}@{digest}"
    assert f"newName: {image}\n  digest: {digest}\n" in (
        check / "overlays/dev/kustomization.yaml").read_text()  # fmt: skip

    def live() -> Any:
        status = resource_store.get(ctl.store, "Application", "web-dev").status
        sync, health = status.get("sync") or {}, status.get("health") or {}
        ok = sync.get("status") == "Synced" and health.get("status") == "Healthy"
        failed = [r for r in ctl.releases_of(commit) if r.status == "Failed"]
        assert not failed, f"{failed[0].message}\n{ctl.log()[-4000:]}"
        return status if ok and sync.get("revision") == head[0] else None

    _wait("Synced/Healthy application at the pipeline's commit", live, ctl)

    def finished() -> Any:
        rels = ctl.releases_of(commit)
        return rels if rels and all(r.status != "Running" for r in rels) else None

    (rel,) = _wait("finished release", finished, ctl)
    code, out, err = cli(["release", "get", rel.id, "-o", "json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert got["status"] == "Succeeded", got
    assert (got["ci_run"], got["image"], got["config_commit"], got["revision"]) == (
        run["id"],
        f"{image}@{digest}",
        head[0],
        head[0],
    )
    stages = {s["name"]: s for s in got["stages"]}
    assert [stages[n]["status"] for n in ("ci", "image", "update", "sync", "health")] == [
        "Succeeded"
    ] * 5
    assert stages["update"]["message"] == (
        f"config commit {head[0][:12]} made by CI run {run['id']}"
    )
    # the pipeline's commit is the only one after the seed's: no second by the updater
    count = subprocess.run(["git", "-C", str(check), "rev-list", "--count", "HEAD"], check=True,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert count == "2"
