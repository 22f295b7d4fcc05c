"""TaskRun and PipelineRun ``status`` as Tekton reports them.

Pure: builds the ``Succeeded`` condition (status True/False, reasons
Succeeded, Failed, Completed, TaskRunTimeout, PipelineRunTimeout, with
Tekton's messages), ``steps`` with their ``terminated`` states, ``results``,
``childReferences`` and ``skippedTasks``. Times are RFC 3339 UTC strings the
caller passes.
"""

from __future__ import annotations

from typing import Any

from shipway.ci.tekton.dag import Scheduler
from shipway.ci.tekton.schema import format_duration

API = "tekton.dev/v1"


def condition(ok: bool | None, reason: str, message: str, when: str) -> dict[str, Any]:
    return {"type": "Succeeded", "status": "Unknown" if ok is None else str(ok),
            "reason": reason, "message": message, "lastTransitionTime": when}  # fmt: skip


def step_state(name: str, image: str, code: int, started: str, finished: str,
               timed_out: bool = False) -> dict[str, Any]:  # fmt: skip
    reason = "TimeoutExceeded" if timed_out else ("Completed" if code == 0 else "Error")
    return {"name": name, "container": f"step-{name}", "imageID": image,
            "terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                           "finishedAt": finished},
            "terminationReason": reason}  # fmt: skip


def step_skipped(name: str, image: str) -> dict[str, Any]:
    return {
        "name": name,
        "container": f"step-{name}",
        "imageID": image,
        "terminated": {"exitCode": 1, "reason": "Skipped"},
        "terminationReason": "Skipped",
    }


def taskrun_status(
    name: str,
    *,
    failed_step: str | None,
    failed_code: int,
    timed_out: float | None,
    failure: str,
    steps: list[dict[str, Any]],
    results: list[dict[str, Any]],
    started: str,
    finished: str,
    spec: dict[str, Any],
    retries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A finished TaskRun's status; ``failure``: a reason other than a step's exit code."""
    if timed_out is not None:
        cond = condition(False, "TaskRunTimeout", f'TaskRun "{name}" failed to finish within '
                         f'"{format_duration(timed_out)}"', finished)  # fmt: skip
    elif failure:
        cond = condition(False, "Failed", failure, finished)
    elif failed_step is not None:
        cond = condition(False, "Failed", f'"step-{failed_step}" exited with code {failed_code}',
                         finished)  # fmt: skip
    else:
        cond = condition(True, "Succeeded", "All Steps have completed executing", finished)
    out: dict[str, Any] = {"conditions": [cond], "podName": f"{name}-pod",
                           "startTime": started, "completionTime": finished, "steps": steps,
                           "taskSpec": spec}  # fmt: skip
    if results:
        out["results"] = results
    if retries:
        out["retriesStatus"] = retries
    return out


def succeeded(status: dict[str, Any]) -> bool:
    return any(c.get("type") == "Succeeded" and c.get("status") == "True"
               for c in status.get("conditions") or [])  # fmt: skip


def pipelinerun_status(
    name: str,
    sched: Scheduler,
    children: list[dict[str, Any]],
    results: list[dict[str, Any]],
    *,
    started: str,
    finished: str,
    spec: dict[str, Any],
    timed_out: float | None = None,
    finally_started: str = "",
    cancelled_run: bool = False,
) -> dict[str, Any]:
    """A finished PipelineRun's status from its tasks' states."""
    states = list(sched.tasks.values())
    failed = sum(1 for t in states if t.status == "Failed")
    ignored = sum(1 for t in states if t.ignored)
    cancelled = sum(1 for t in states if t.status == "Cancelled")
    skipped = [t for t in states if t.status == "Skipped"]
    done = sum(1 for t in states if t.status in ("Succeeded", "Failed", "Cancelled"))
    counted = f"{failed} (Ignored: {ignored})" if ignored else str(failed)
    message = (f"Tasks Completed: {done} (Failed: {counted}, Cancelled {cancelled}), "
               f"Skipped: {len(skipped)}")  # fmt: skip
    failed -= ignored  # onError: continue: the run succeeds
    if cancelled_run:
        cond = condition(False, "Cancelled", f'PipelineRun "{name}" was cancelled', finished)
    elif timed_out is not None:
        cond = condition(False, "PipelineRunTimeout", f'PipelineRun "{name}" failed to finish '
                         f'within "{format_duration(timed_out)}"', finished)  # fmt: skip
    elif failed or cancelled:
        cond = condition(False, "Failed", message, finished)
    elif skipped:
        cond = condition(True, "Completed", message, finished)
    else:
        cond = condition(True, "Succeeded", message, finished)
    out: dict[str, Any] = {"conditions": [cond], "startTime": started, "completionTime": finished,
                           "pipelineSpec": spec, "childReferences": children}  # fmt: skip
    if skipped:
        out["skippedTasks"] = [{"name": t.name, "reason": t.reason,
                                **({"whenExpressions": t.when} if t.when else {})}
                               for t in skipped]  # fmt: skip
    if results:
        out["results"] = results
    if finally_started:
        out["finallyStartTime"] = finally_started
    return out


def child_ref(taskrun: str, pipeline_task: str, when: list[dict[str, Any]]) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "apiVersion": API,
        "kind": "TaskRun",
        "name": taskrun,
        "pipelineTaskName": pipeline_task,
    }
    if when:
        ref["whenExpressions"] = when
    return ref
