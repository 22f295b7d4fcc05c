"""The seed's pipeline end to end as a Tekton PipelineRun.

Tasks shaped like the catalog's git-clone, buildah and git-update-deployment.
Real services: the git daemon (source and config repositories), the registry
(base image, git image, the built image) and podman (the git steps run in a
git image built here, named ``ghcr.io/shipway/git:1`` and resolved through the
registry aliases). The build step runs shipway's own builder on the host. The
digest the build pushed is the one written into the config repository.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ci_images import run_buildah  # noqa: F401  (the busybox fixture's helper)
from tekton_images import build_git_image

from shipway.ci.tekton_run.service import RunOptions, run_files
from shipway.git.repo import Repo
from shipway.runtime.host import Cancel
from shipway.store.db import Store

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tekton"


OVERLAY = "resources:\n- ../../base\nimages:\n- name: app\n  newName: old\n  newTag: old\n"


def _push(podman: dict[str, str], image: str, target: str) -> None:
    subprocess.run(["podman", "push", "-q", "--tls-verify=false", image, target],
                   env={**os.environ, **podman}, check=True, capture_output=True)  # fmt: skip


def _manifest_digest(registry: Any, repo: str, tag: str) -> str:
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                          f"docker://{registry.host}/{repo}:{tag}"], check=True,
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


def _repo(path: Path, files: dict[str, str], url: str) -> str:
    repo = Repo.init(path)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    repo.add_all()
    commit = repo.commit("init")
    repo.run("push", "-q", url, "HEAD:refs/heads/main")
    return commit


def test_git_clone_buildah_git_update_deployment(
    tmp_path: Path, store: Store, podman: dict[str, str], registry: Any, git_server: Any,
    busybox_image: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _push(podman, busybox_image, f"{registry.host}/library/busybox:latest")
    _push(podman, build_git_image(podman, tmp_path, "localhost/shipway-git:1"),
          f"{registry.host}/shipway/git:1")  # fmt: skip
    monkeypatch.setenv("SHIPWAY_REGISTRY_ALIASES",
                       f"docker.io={registry.host},ghcr.io={registry.host}")  # fmt: skip
    src_url, config_url = git_server.bare("acme/app"), git_server.bare("acme/config")
    commit = _repo(tmp_path / "app", {
        "Dockerfile": f"FROM {registry.host}/library/busybox:latest\nCOPY index.html /www/\n",
        "index.html": "hello from tekton\n"}, src_url)  # fmt: skip
    _repo(tmp_path / "config", {
        "base/kustomization.yaml": "resources: []\n",
        "overlays/dev/kustomization.yaml": OVERLAY}, config_url)  # fmt: skip
    files = [(p.read_text(), p.name) for p in sorted(EXAMPLES.glob("*.yaml"))]
    lines: list[str] = []
    image = f"{registry.host}/acme/app"
    opts = RunOptions(params={"repo-url": src_url, "image": image, "config-repo-url": config_url},
                      executor="podman", podman_env=podman, base_dir=tmp_path / "ci",
                      pvc_dir=tmp_path / "pvc", on_line=lines.append)  # fmt: skip
    (record,) = run_files(store, files, opts, Cancel())
    status = record["status"]
    assert status["conditions"][0]["reason"] == "Succeeded", "\n".join(lines)
    digest = _manifest_digest(registry, "acme/app", commit)
    assert record["results"]["image-digest"] == digest
    assert {c["pipelineTaskName"] for c in status["childReferences"]} == {
        "fetch-source", "build", "update-config"}  # fmt: skip
    clone = next(j for j in record["jobs"] if j["id"] == "fetch-source")
    assert clone["outputs"]["commit"] == commit
    check = tmp_path / "check"
    subprocess.run(["git", "clone", "-q", config_url, str(check)], check=True)
    text = (check / "overlays/dev/kustomization.yaml").read_text()
    assert f"newName: {image}\n  digest: {digest}\n" in text
    assert "- ../../base" in text
    head = subprocess.run(["git", "-C", str(check), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert record["results"]["config-commit"] == head
