"""``uses:`` steps: native actions now; local and cached actions resolve here too.

A remote action that is neither native nor in the action cache fails with
an error naming it and how to vendor it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipway.ci.actions import ActionContext, ActionFailed, native
from shipway.ci.expr.template import render_deep
from shipway.ci.expr.values import from_json_value, to_str
from shipway.ci.plan.model import Step

if TYPE_CHECKING:
    from shipway.ci.job import JobRun


def run_uses(
    job: JobRun,
    step: Step,
    env_ctx: dict[str, str],
    proc_env: dict[str, str],
    outputs: dict[str, str],
) -> str:
    uses = step.uses or ""
    scope = job.scope(env_ctx)
    inputs = {str(k): to_str(from_json_value(v)) for k, v in render_deep(step.with_, scope).items()}
    impl = native(uses)
    if impl is None:
        job.log(
            f"::error::action {uses!r} is not available: shipway runs native actions "
            "(actions/checkout, ...), local actions (uses: ./path) and actions vendored "
            "into the action cache; vendor it with `git clone <its repository> "
            "$SHIPWAY_HOME/actions/<owner>/<name>@<ref>` or copy it into the repository and "
            "use `uses: ./path`"
        )
        return "failure"
    ctx = ActionContext(inputs=inputs, workspace=job.workspace, temp=job.temp, info=job.rs.info,
                        env=proc_env, log=job.log)  # fmt: skip
    try:
        impl(ctx)
    except ActionFailed as exc:
        job.log(f"::error::{exc}")
        return "failure"
    for secret in ctx.secrets:
        job.rs.masker.add(secret)
    outputs.update(ctx.outputs)
    job.exported.update(ctx.exported)
    job.env_ctx.update(ctx.exported)
    job.paths[:0] = ctx.paths
    return "success"
