"""Docker container actions (``runs.using: docker``), run once with ``podman run --rm``.

The image is ``docker://<ref>`` (pulled) or a ``Dockerfile`` in the action
(built with podman). Inputs arrive as ``INPUT_*`` and as ``args``; the run
directory is mounted at the same path so the runner files work inside. Under
the kubernetes executor the action runs as a Pod (``ci.kube_executor``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.ci.container import podman_environment
from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.template import render_deep
from shipway.ci.expr.values import from_json_value, to_str
from shipway.ci.syntax.action import ActionDef
from shipway.model.errors import CIError
from shipway.runtime.podman_exec import Podman

if TYPE_CHECKING:
    from shipway.ci.job import JobRun

_PASS = ("GITHUB_", "RUNNER_", "INPUT_", "STATE_", "CI", "ACTIONS_")


def run_docker_action(job: JobRun, action: ActionDef, path: Path, inputs: dict[str, Any],
                      proc_env: dict[str, str], timeout: float) -> str:  # fmt: skip
    from shipway.ci.uses import input_env

    podman = Podman(podman_environment(job), f"shipway-ci-{job.rs.info.run_id}-{job.key}")
    image = str(action.runs.get("image", ""))
    try:
        if image.startswith("docker://"):
            image = image[len("docker://") :]
            if job.rs.info.executor != "kubernetes":  # there the cluster pulls it
                podman.pull(image)
        else:
            tag = "localhost/shipway-action-" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
            job.log(f"Building {action.name} from {image}")
            podman.build(str(path if image == "Dockerfile" else path / Path(image).parent), tag)
            image = tag
    except CIError as exc:
        job.log(f"::error::{action.name}: {exc}")
        return "failure"
    scope = Scope({**job.scope().contexts, "inputs": inputs}, status=job.status_fn)
    args = [to_str(from_json_value(a)) for a in render_deep(action.runs.get("args") or [], scope)]
    extra = {str(k): to_str(from_json_value(v))
             for k, v in render_deep(action.runs.get("env") or {}, scope).items()}  # fmt: skip
    env = {k: v for k, v in proc_env.items() if k.startswith(_PASS) or k in job.env_ctx}
    env.update({**input_env(inputs), **extra, "HOME": "/github/home"})
    entry = action.runs.get("entrypoint")
    if job.rs.info.executor == "kubernetes":  # a Pod of its own (ci.kube_executor)
        from shipway.ci.kube_executor import run_action_pod

        return run_action_pod(job, image, args, env, str(entry) if entry else None, timeout)
    base = str(job.rs.info.base_dir.resolve())
    argv = podman.run_argv(image, args, env, [(base, base, "rw")], str(job.workspace),
                           entrypoint=str(entry) if entry else None)  # fmt: skip
    return job.run_process(argv, job.workspace, podman.host_env, timeout, host_only=True)
