"""The podman executor: job containers, services on a network, Docker actions (real podman)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

from shipway.ci import runner_image

Runner = Callable[..., tuple[dict[str, Any], list[str]]]


def test_container_job_with_service(
    run_wf: Runner, podman: dict[str, str], busybox_image: str
) -> None:
    record, lines = run_wf(
        f"""
        on: push
        jobs:
          c:
            runs-on: ubuntu-latest
            container:
              image: {busybox_image}
              env: {{IN_CONTAINER: "yes"}}
            services:
              web:
                image: {busybox_image}
                options: --entrypoint httpd
            steps:
              - run: |
                  echo "in=$IN_CONTAINER ws=$GITHUB_WORKSPACE pwd=$(pwd)"
                  test -f /bin/busybox && echo "busybox inside"
                  echo "v=from-container" >> "$GITHUB_OUTPUT"
                id: s
              - run: echo "got ${{{{ steps.s.outputs.v }}}} net=${{{{ job.container.network }}}}"
        """,
        podman_env=podman,
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "in=yes" in text and "busybox inside" in text
    assert "got from-container net=shipway-ci-" in text


def test_podman_executor_builds_its_runner_image(run_wf: Runner, podman: dict[str, str]) -> None:
    wf = """\
on: push
jobs:
  a:
    runs-on: x
    steps:
      - run: echo "boxed=${{ job.container.id != '' }} home=$HOME"; busybox | head -1
"""
    record, lines = run_wf(wf, podman_env=podman, executor="podman")
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "boxed=true home=/root" in text and "BusyBox" in text
    assert f"Starting job container ({runner_image.tag()})" in text
    done = subprocess.run(["podman", "image", "exists", runner_image.tag()],
                          env={**os.environ, **podman})  # fmt: skip
    assert done.returncode == 0  # built once into the store, reused by the next run
    record, lines = run_wf(wf, podman_env=podman, executor="podman")
    assert record["conclusion"] == "success"


SAY_ACTION = """\
name: Say
inputs: {word: {default: hi}}
runs:
  using: docker
  image: docker://IMAGE
  entrypoint: sh
  args:
    - -c
    - echo "said $INPUT_WORD ${{ inputs.word }}"; echo out=$INPUT_WORD >> $GITHUB_OUTPUT
"""


def test_docker_action(run_wf: Runner, podman: dict[str, str], busybox_image: str) -> None:
    action = SAY_ACTION.replace("IMAGE", busybox_image)
    record, lines = run_wf(
        """
        on: push
        jobs:
          a:
            runs-on: x
            steps:
              - uses: actions/checkout@v4
              - id: say
                uses: ./say
                with: {word: hello}
              - run: echo "out=${{ steps.say.outputs.out }}"
        """,
        {"say/action.yml": action},
        podman_env=podman,
    )
    text = "\n".join(lines)
    assert record["conclusion"] == "success", text
    assert "said hello hello" in text and "out=hello" in text


PLATFORMS = """\
on: push
jobs:
  boxed:
    runs-on: ubuntu-latest
    steps: [{run: 'echo "boxed container=${{ job.container.id != '''' }}"'}]
  mixed:
    runs-on: [self-hosted, linux]
    steps: [{run: 'echo "mixed container=${{ job.container.id != '''' }}"'}]
"""


def test_platforms_pick_the_image_per_runs_on_label(
    run_wf: Runner, podman: dict[str, str], busybox_image: str
) -> None:
    platforms = {"ubuntu-latest": busybox_image, "self-hosted": "-self-hosted"}
    record, lines = run_wf(PLATFORMS, podman_env=podman, platforms=platforms)
    assert record["conclusion"] == "success", "\n".join(lines)
    text = "\n".join(lines)
    assert "boxed container=true" in text  # host executor, but a label mapped to an image
    assert "mixed container=false" in text  # -self-hosted: on the host
    record, lines = run_wf(PLATFORMS, podman_env=podman, executor="podman",
                           platforms={"self-hosted": "-self-hosted"})  # fmt: skip
    assert record["conclusion"] == "success"  # boxed: in the runner image podman builds
    assert any("boxed container=true" in ln for ln in lines)
    assert any("mixed container=false" in ln for ln in lines)
