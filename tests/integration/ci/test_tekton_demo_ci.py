"""The demo app's Tekton CI (``shipway demo --ci tekton``), run by the controller's path.

``run_event`` on a push of the sample app with ``.tekton/push.yaml``: the
PipelineRun is picked as Pipelines-as-Code picks it, ``{{ REGISTRY }}`` comes
from the Pipeline's vars, and the image is built and pushed to the real
registry under the commit's tag, its digest the run's ``IMAGE_DIGEST``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipway.ci.service import run_event
from shipway.demo import sample

pytestmark = pytest.mark.integration


def test_the_demo_apps_tekton_ci_builds_and_pushes(
    store: Any, tmp_path: Path, new_repo: Any, registry: Any, podman: dict[str, str],
    busybox_image: str,
) -> None:  # fmt: skip
    subprocess.run(["podman", "push", "-q", "--tls-verify=false", busybox_image,
                    f"{registry.host}/demo/base:1"], env={**os.environ, **podman}, check=True,
                   capture_output=True)  # fmt: skip
    files = sample.app_files("1.0.0", ci="tekton")
    assert ".github/workflows/ci.yml" not in files
    repo, _ = new_repo(tmp_path / "hello", files)
    for cgi in (repo.path / "www/cgi-bin").iterdir():
        cgi.chmod(0o755)  # as the demo writes them
    repo.add_all()
    commit = repo.commit("executable cgi scripts")
    lines: list[str] = []
    records = run_event(store, repo=str(repo.path), commit=commit, ref="refs/heads/main",
                        event="push", payload={"ref": "refs/heads/main", "after": commit},
                        workdir=tmp_path / "work", vars={"REGISTRY": registry.host},
                        secrets={}, on_line=lines.append, pipeline="hello")  # fmt: skip
    assert [r["conclusion"] for r in records] == ["success"], "\n".join(lines)
    (record,) = records
    assert record["name"] == "hello-ci" and record["pipeline"] == "hello"
    assert "[test] [step-test] ok: version 1.0.0" in lines
    digest = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--format",
                             "{{.Digest}}", f"docker://{registry.host}/demo/hello:{commit}"],
                            check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert record["results"]["IMAGE_DIGEST"] == digest
