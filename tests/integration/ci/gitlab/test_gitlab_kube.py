"""GitLab jobs on ``--executor kubernetes``: each job a Pod of its image on the Kubernetes
API fake (its podman kubelet really runs it), services in the Pod, artifacts between jobs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from gitlab_pipelines import run_pipeline

from shipway.ci.exec.base import ExecutorConfig
from shipway.ci.gitlab_run import PipelineRun

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def git_image(podman: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    from tekton_images import build_git_image

    return build_git_image(podman, tmp_path_factory.mktemp("git-image"), "localhost/gl-git:1")


def _run(tmp_path: Path, text: str, kube_fake: Any, podman: dict[str, str],
         default_image: str | None = None,
         concurrency: int = 1) -> tuple[dict[str, Any], PipelineRun]:  # fmt: skip
    config = ExecutorConfig(podman_env=podman, kube={"server": kube_fake.url, "pod_timeout": 60})
    return run_pipeline(tmp_path, text, "k1", executor="kubernetes", config=config,
                        default_image=default_image, concurrency=concurrency)  # fmt: skip


def test_jobs_run_as_pods_with_services_and_artifacts(
    tmp_path: Path, kube_fake: Any, podman: dict[str, str], busybox_image: str
) -> None:
    record, run = _run(tmp_path, f"""\
        stages: [build, check]
        build:
          stage: build
          image: {busybox_image}
          services:
            - name: {busybox_image}
              alias: web
              entrypoint: [sh, -c]
              command: ['mkdir -p /w && echo hello-svc > /w/index.html && httpd -f -p 80 -h /w']
          script:
            - echo "dir=$CI_PROJECT_DIR pwd=$(pwd) job=$CI_JOB_NAME"
            - for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://web/ && break; sleep 1; done
            - echo made > made.txt
          artifacts: {{paths: [made.txt]}}
        check:
          stage: check
          image: {busybox_image}
          script: [cat made.txt, exit 3]
          allow_failure: {{exit_codes: [3]}}
    """, kube_fake, podman)  # fmt: skip
    jobs = {j["name"]: j for j in record["jobs"]}
    assert jobs["build"]["status"] == "success", run.lines
    assert run.output["build"][0] == (
        "dir=/builds/shipway/project pwd=/builds/shipway/project job=build"
    )
    assert "hello-svc" in run.output["build"]
    assert run.output["check"] == ["made"]
    assert (jobs["check"]["status"], jobs["check"]["exit_code"]) == ("failed", 3)
    assert record["gitlab_status"] == "success"  # allowed to fail with that code
    assert any("Starting pod" in line for line in run.lines)


def test_a_job_without_image_uses_the_default_image_or_fails_clearly(
    tmp_path: Path, kube_fake: Any, podman: dict[str, str], busybox_image: str
) -> None:
    text = "plain:\n  script: [echo in-the-default-image]\n"
    record, run = _run(tmp_path / "a", text, kube_fake, podman)
    assert record["jobs"][0]["status"] == "failed"
    assert any("needs a job image" in line for line in run.lines), run.lines
    record, run = _run(tmp_path / "b", text, kube_fake, podman, default_image=busybox_image)
    assert record["jobs"][0]["status"] == "success", run.lines
    assert run.output["plain"] == ["in-the-default-image"]


def test_jobs_at_once_commit_in_their_own_git_directories_in_their_pods(
    tmp_path: Path, kube_fake: Any, podman: dict[str, str], git_image: str
) -> None:
    job = """\
        j{0}:
          image: {image}
          script:
            - git config user.name t && git config user.email t@t
            - echo {0} > only-{0}.txt && git add only-{0}.txt
            - git commit -qm "job {0}"
            - git show --name-only --format=%s HEAD
            - git status --porcelain
        """
    text = "".join(textwrap.dedent(job.format(i, image=git_image)) for i in (1, 2))
    record, run = _run(tmp_path, text, kube_fake, podman, concurrency=2)
    assert record["conclusion"] == "success", run.lines
    for i in (1, 2):
        assert [line for line in run.output[f"j{i}"] if line] == [f"job {i}", f"only-{i}.txt"]
