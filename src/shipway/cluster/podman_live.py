"""Live state on a podman host: pods and volumes shipway made, as Kubernetes-shaped objects.

Reads ``podman pod ps`` and ``podman container inspect`` (JSON) and turns a
recorded manifest plus what is running into a live object with a ``status``
that the health checks read: a Deployment gets ``replicas``/
``updatedReplicas``/``availableReplicas`` (and a ``ProgressDeadlineExceeded``
condition when a container exited with an error), a Pod its ``phase`` and
``containerStatuses``; the running image replaces the recorded one, so an
image changed behind shipway's back shows as drift. Runs podman only through
the target's ``podman`` method.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Protocol

from shipway.cluster import INSTANCE_LABEL

OWNER_KIND, OWNER_NAME = "shipway.dev/owner-kind", "shipway.dev/owner-name"

Obj = dict[str, Any]
Pods = dict[tuple[str, str], list[Obj]]


class _Runs(Protocol):
    def podman(self, *args: str, subject: str = "podman", check: bool = True) -> str: ...


def pods(target: _Runs, app: str) -> Pods:
    """The app's pods by owner ``(kind, name)``, each with its containers' states."""
    raw = target.podman(
        "pod", "ps", "--filter", f"label={INSTANCE_LABEL}={app}", "--format", "json"
    )
    listed = json.loads(raw or "[]") or []
    ids = [
        c["Id"] for p in listed for c in p.get("Containers") or [] if c["Id"] != p.get("InfraId")
    ]
    inspected: dict[str, Obj] = {}
    if ids:
        out = target.podman("container", "inspect", *ids, "--format", "json", check=False)
        inspected = {c["Id"]: c for c in json.loads(out or "[]") or []}
    found: Pods = {}
    for p in listed:
        labels = p.get("Labels") or {}
        owner = (str(labels.get(OWNER_KIND, "Pod")), str(labels.get(OWNER_NAME, p["Name"])))
        containers = []
        for c in p.get("Containers") or []:
            info = inspected.get(c["Id"])
            if info is None:
                continue
            state = info.get("State") or {}
            containers.append(
                {
                    "name": str(info.get("Name", "")).removeprefix(p["Name"] + "-"),
                    "image": info.get("ImageName") or (info.get("Config") or {}).get("Image"),
                    "status": state.get("Status", ""),
                    "exitCode": int(state.get("ExitCode") or 0),
                    "restarts": int(info.get("RestartCount") or 0),
                }
            )
        found.setdefault(owner, []).append({"name": p["Name"], "containers": containers})
    return found


def volumes(target: _Runs) -> set[str]:
    out = target.podman("volume", "ls", "--format", "json")
    return {v["Name"] for v in json.loads(out or "[]") or []}


def _container_status(c: Obj) -> Obj:
    if c["status"] == "running":
        state: Obj = {"running": {}}
    elif c["status"] in ("exited", "stopped"):
        state = {"terminated": {"exitCode": c["exitCode"]}}
        if c["exitCode"] != 0:
            state = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"container {c['name']} exited with code {c['exitCode']}",
                }
            }
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
    return {
        "name": c["name"],
        "image": c["image"],
        "ready": c["status"] == "running",
        "restartCount": c["restarts"],
        "state": state,
    }


def _pod_phase(statuses: list[Obj]) -> str:
    states = [next(iter(s["state"])) for s in statuses]
    if statuses and all(s == "running" for s in states):
        return "Running"
    if statuses and all(s == "terminated" for s in states):
        return "Succeeded"
    if any(s["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff" for s in statuses):
        return "Running"
    return "Pending"


def _canonical(ref: str) -> tuple[str, str, str]:
    """``(repository, tag, digest)`` with Docker's defaults for short names."""
    name, _, digest = ref.partition("@")
    head, _, last = name.rpartition("/")
    repo_last, _, tag = last.partition(":")
    repo = f"{head}/{repo_last}" if head else repo_last
    first = repo.split("/", 1)[0]
    if "/" not in repo or not ("." in first or ":" in first or first == "localhost"):
        repo = "docker.io/" + (repo if "/" in repo else "library/" + repo)
    return repo, tag or ("" if digest else "latest"), digest


def same_image(recorded: str, running: str) -> bool:
    """True when a container running ``running`` runs what ``recorded`` names.

    podman reports ``repo@sha256:…`` for ``repo:tag@sha256:…`` (a digest wins
    over a tag) and fills in ``docker.io/library/`` and ``:latest``.
    """
    want, have = _canonical(recorded), _canonical(running)
    if want[2] or have[2]:
        return want[0] == have[0] and want[2] == have[2]
    return want == have


def _set_images(spec: Obj, containers: list[Obj]) -> None:
    images = {c["name"]: c["image"] for c in containers}
    for c in spec.get("containers") or []:
        running = images.get(c.get("name"))
        if running and not same_image(str(c.get("image") or ""), running):
            c["image"] = running


def _deployment(rec: Obj, found: list[Obj]) -> Obj:
    live = copy.deepcopy(rec)
    tmpl_spec = ((live.get("spec") or {}).get("template") or {}).get("spec") or {}
    _set_images(tmpl_spec, found[0]["containers"])
    ready = 0
    crashed = ""
    for p in found:
        sts = [_container_status(c) for c in p["containers"]]
        ready += int(bool(sts) and all(s["ready"] for s in sts))
        for s in sts:
            crashed = crashed or s["state"].get("waiting", {}).get("message", "")
    status: Obj = {
        "replicas": len(found),
        "updatedReplicas": len(found),
        "readyReplicas": ready,
        "availableReplicas": ready,
    }
    if crashed:
        status["conditions"] = [
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": crashed,
            }
        ]
    live["status"] = status
    return live


def _pod(rec: Obj, found: list[Obj]) -> Obj:
    live = copy.deepcopy(rec)
    _set_images(live.setdefault("spec", {}), found[0]["containers"])
    sts = [_container_status(c) for c in found[0]["containers"]]
    phase = _pod_phase(sts)
    if live["spec"].get("restartPolicy") == "Never":  # exited containers end: the pod is done
        for s, c in zip(sts, found[0]["containers"], strict=True):
            if c["status"] in ("exited", "stopped"):
                s["state"] = {"terminated": {"exitCode": c["exitCode"]}}
        if all("terminated" in s["state"] for s in sts) and sts:
            phase = "Failed" if any(c["exitCode"] for c in found[0]["containers"]) else "Succeeded"
    live["status"] = {"phase": phase, "containerStatuses": sts}
    return live


def live_object(rec: Obj, found_pods: Pods, vols: set[str]) -> Obj | None:
    """The live form of a recorded object, or None when podman no longer runs it."""
    kind, name = rec["kind"], rec["metadata"]["name"]
    if kind in ("Deployment", "Pod"):
        found = found_pods.get((kind, name))
        if not found:
            return None
        return _deployment(rec, found) if kind == "Deployment" else _pod(rec, found)
    live = copy.deepcopy(rec)
    if kind == "PersistentVolumeClaim":
        if name not in vols:
            return None
        live["status"] = {"phase": "Bound"}
    elif kind == "Service" and (rec.get("spec") or {}).get("type") == "LoadBalancer":
        live["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    return live


def is_current(obj: Obj, found_pods: Pods) -> bool:
    """True when ``obj``'s pods run its images and none has crashed."""
    found = found_pods.get((obj["kind"], obj["metadata"]["name"]))
    if not found:
        return False
    tmpl = obj if obj["kind"] == "Pod" else (obj.get("spec") or {}).get("template") or {}
    want = {c.get("name"): c.get("image") for c in (tmpl.get("spec") or {}).get("containers") or []}
    for p in found:
        have = {c["name"]: c["image"] for c in p["containers"]}
        if have.keys() != want.keys() or any(c["status"] != "running" for c in p["containers"]):
            return False
        if not all(same_image(str(want[n] or ""), have[n]) for n in want):
            return False
    return True
