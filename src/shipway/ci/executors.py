"""Container executors: Docker actions and (later) jobs in containers, with podman."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.ci.syntax.action import ActionDef

if TYPE_CHECKING:
    from shipway.ci.job import JobRun


def run_docker_action(job: JobRun, action: ActionDef, path: Path, inputs: dict[str, Any],
                      proc_env: dict[str, str], timeout: float) -> str:  # fmt: skip
    job.log(f"::error::{action.name}: Docker actions need the podman executor (not built yet)")
    return "failure"
