"""The ``status`` a live object on the podman host gets, built from its pods' containers.

Pure (no I/O): ``podman_live`` reads podman and hands in, per object, the
pods found (each ``{"name", "containers": [{name, image, status, exitCode,
restarts, error}]}``) and podman's error text from the object's last play.
The statuses are shaped as Kubernetes writes them, so the health checks read
them unchanged:

- Pod: ``phase`` and ``containerStatuses``; a container that never started
  is waiting with ``CreateContainerError`` and podman's reason (Degraded),
  one that exits non-zero under ``restartPolicy: Always`` is in
  ``CrashLoopBackOff``.
- Deployment: ``replicas``/``updatedReplicas``/``readyReplicas``/
  ``availableReplicas``, and ``Progressing=False`` with reason
  ``ProgressDeadlineExceeded`` and the container's reason when one does not run.
- StatefulSet: ready/current/updated replica counts, one revision.
- DaemonSet: one scheduled pod (this host is the only node).
- Job: ``active``/``succeeded``/``failed`` and a ``Complete`` or ``Failed``
  condition from the container's exit code (``backoffLimit`` restarts under
  ``OnFailure``).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def container(c: Obj, restart: str, error: str = "") -> Obj:
    """A ``containerStatuses`` entry for one podman container."""
    reason = c.get("error") or error
    if c["status"] == "running":
        state: Obj = {"running": {}}
    elif c["status"] in ("exited", "stopped") and (c["exitCode"] == 0 or restart == "Never"):
        state = {"terminated": {"exitCode": c["exitCode"]}}
        if c["exitCode"] != 0:
            state["terminated"]["reason"] = "Error"
            state["terminated"]["message"] = (
                f"container {c['name']} exited with code {c['exitCode']}"
            )
    elif c["status"] in ("exited", "stopped"):
        state = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"container {c['name']} exited with code {c['exitCode']}",
            }
        }
    elif reason:
        state = {"waiting": {"reason": "CreateContainerError", "message": reason}}
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
    return {
        "name": c["name"],
        "image": c["image"],
        "ready": c["status"] == "running",
        "restartCount": c["restarts"],
        "state": state,
    }


def _phase(statuses: list[Obj]) -> str:
    states = [next(iter(s["state"])) for s in statuses]
    if statuses and all(s == "running" for s in states):
        return "Running"
    if statuses and all(s == "terminated" for s in states):
        codes = [s["state"]["terminated"]["exitCode"] for s in statuses]
        return "Succeeded" if not any(codes) else "Failed"
    if any(s == "running" for s in states) or any(
        s["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff" for s in statuses
    ):
        return "Running"
    return "Pending"


def _problem(statuses: list[Obj]) -> str:
    """The first reason a container does not run, for the owner's status."""
    for s in statuses:
        state = s["state"]
        if "waiting" in state and state["waiting"].get("reason") != "ContainerCreating":
            return str(state["waiting"].get("message") or state["waiting"]["reason"])
    return ""


def status_message(statuses: list[Obj]) -> str:
    """Why a terminated pod failed: the first non-zero exit."""
    for s in statuses:
        message = s["state"].get("terminated", {}).get("message")
        if message:
            return str(message)
    return "pod failed"


def pod(found: Obj, restart: str, error: str = "") -> Obj:
    sts = [container(c, restart, error) for c in found["containers"]]
    status: Obj = {"phase": _phase(sts), "containerStatuses": sts}
    if status["phase"] == "Failed":
        status["message"] = status_message(sts)
    return status


def _ready(found: list[Obj], error: str) -> tuple[int, str]:
    ready, problem = 0, ""
    for p in found:
        sts = [container(c, "Always", error) for c in p["containers"]]
        ready += int(bool(sts) and all(s["ready"] for s in sts))
        problem = problem or _problem(sts)
    return ready, problem


def deployment(found: list[Obj], error: str = "") -> Obj:
    ready, problem = _ready(found, error)
    status: Obj = {
        "replicas": len(found),
        "updatedReplicas": len(found),
        "readyReplicas": ready,
        "availableReplicas": ready,
    }
    if problem:
        status["conditions"] = [
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": problem,
            }
        ]
    return status


def statefulset(found: list[Obj], error: str = "") -> Obj:
    ready, problem = _ready(found, error)
    status: Obj = {
        "replicas": len(found),
        "readyReplicas": ready,
        "currentReplicas": len(found),
        "updatedReplicas": len(found),
        "availableReplicas": ready,
        "currentRevision": "podman",
        "updateRevision": "podman",
    }
    if problem:
        status["conditions"] = [{"type": "Ready", "status": "False", "message": problem}]
    return status


def daemonset(found: list[Obj], error: str = "") -> Obj:
    ready, problem = _ready(found, error)
    status: Obj = {
        "desiredNumberScheduled": 1,
        "currentNumberScheduled": len(found),
        "updatedNumberScheduled": len(found),
        "numberReady": ready,
        "numberAvailable": ready,
        "numberMisscheduled": 0,
    }
    if problem:
        status["conditions"] = [{"type": "Ready", "status": "False", "message": problem}]
    return status


def job(found: Obj, spec: Obj, restart: str, error: str = "") -> Obj:
    """A Job's status from its one pod."""
    sts = [container(c, restart, error) for c in found["containers"]]
    phase = _phase(sts)
    limit = int(spec.get("backoffLimit", 6))
    restarts = max((int(c["restarts"]) for c in found["containers"]), default=0)
    never_started = any(
        s["state"].get("waiting", {}).get("reason") == "CreateContainerError" for s in sts
    )
    message = ""
    if phase == "Failed":
        message = str(status_message(sts))
    elif never_started:
        message = _problem(sts)
    elif restart == "OnFailure" and restarts > limit:
        message = f"backoff limit {limit} reached: {_problem(sts) or 'container failed'}"
    if message:
        condition = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
        return {"failed": 1, "conditions": [{**condition, "message": message}]}
    if phase == "Succeeded":
        return {
            "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True", "message": "job completed"}],
        }
    return {"active": 1}
