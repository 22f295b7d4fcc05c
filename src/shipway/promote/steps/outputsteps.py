"""compose-output, set-metadata and fail.

compose-output gives its (evaluated) config as its output. set-metadata
merges ``values`` into ``status.metadata`` of a Stage or Freight of the
project (through the resource store). fail stops the promotion with its
``message``.
"""

from __future__ import annotations

from typing import Any

from shipway.model import kargo_step_configs as c
from shipway.model.errors import NotFoundError
from shipway.promote.steps.base import StepEnv, StepFailed, StepResult


def compose_output(_env: StepEnv, cfg: dict[str, Any]) -> StepResult:
    return StepResult(output=dict(cfg))


def set_metadata(env: StepEnv, cfg: c.SetMetadata) -> StepResult:
    from shipway.store import resources as store_resources

    if env.store is None:
        raise StepFailed("set-metadata needs the resource store")
    for up in cfg.updates:
        try:
            res = store_resources.get(env.store, up.kind, up.name, env.project)
        except NotFoundError:
            raise StepFailed(f"{up.kind} {up.name!r} not found in project {env.project}") from None
        status = dict(res.status)
        status["metadata"] = {**(status.get("metadata") or {}), **up.values}
        store_resources.set_status(env.store, up.kind, up.name, status, env.project)
    return StepResult()


def fail(_env: StepEnv, cfg: c.Fail) -> StepResult:
    raise StepFailed(cfg.message or "failed by the fail step")


RUNNERS: dict[str, Any] = {
    "compose-output": compose_output,
    "set-metadata": set_metadata,
    "fail": fail,
}
