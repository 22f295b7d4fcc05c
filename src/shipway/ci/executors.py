"""Docker container actions (``runs.using: docker``), a container of their own per run.

The image is ``docker://<ref>`` (pulled) or a ``Dockerfile`` in the action
(built by the job's session). Inputs arrive as ``INPUT_*`` and as ``args``; the
step is a container of its own in the job's ``ci.exec`` session, so the run
directory is mounted at the same path and the runner files work inside. Under
the kubernetes executor the action runs as a Pod (``ci.exec.kubernetes``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.template import render_deep
from shipway.ci.expr.values import from_json_value, to_str
from shipway.ci.syntax.action import ActionDef
from shipway.model.errors import CIError

if TYPE_CHECKING:
    from shipway.ci.job import JobRun

_PASS = ("GITHUB_", "RUNNER_", "INPUT_", "STATE_", "CI", "ACTIONS_")


def input_env(inputs: dict[str, Any]) -> dict[str, str]:
    """An action's inputs as its ``INPUT_*`` environment."""
    return {"INPUT_" + k.replace(" ", "_").upper(): to_str(v) for k, v in inputs.items()}


def run_docker_action(job: JobRun, action: ActionDef, path: Path, inputs: dict[str, Any],
                      proc_env: dict[str, str], timeout: float) -> str:  # fmt: skip
    box = job.box
    image = str(action.runs.get("image", ""))
    if image.startswith("docker://"):
        image = image[len("docker://") :]
    elif box is not None:
        tag = "localhost/shipway-action-" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
        job.log(f"Building {action.name} from {image}")
        try:
            box.build(str(path if image == "Dockerfile" else path / Path(image).parent), tag)
        except CIError as exc:
            job.log(f"::error::{action.name}: {exc}")
            return "failure"
        image = tag
    scope = Scope({**job.scope().contexts, "inputs": inputs}, status=job.status_fn)
    args = [to_str(from_json_value(a)) for a in render_deep(action.runs.get("args") or [], scope)]
    extra = {str(k): to_str(from_json_value(v))
             for k, v in render_deep(action.runs.get("env") or {}, scope).items()}  # fmt: skip
    env = {k: v for k, v in proc_env.items() if k.startswith(_PASS) or k in job.env_ctx}
    env.update({**input_env(inputs), **extra, "HOME": "/github/home"})
    entry = action.runs.get("entrypoint")
    try:  # a container of its own sharing the job's mounts and network (a Pod on Kubernetes)
        return job.run_process(args, job.workspace, env, timeout, image=image,
                               entrypoint=str(entry) if entry else None)  # fmt: skip
    except CIError as exc:
        job.log(f"::error::{action.name}: {exc}")
        return "failure"
