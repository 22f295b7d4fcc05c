"""Live state on a podman host: pods and volumes shipway made, as Kubernetes-shaped objects.

Reads ``podman pod ps`` and ``podman container inspect`` (JSON) and turns a
recorded manifest plus what is running into a live object with a ``status``
that the health checks read (built by ``podman_status``, one shape per kind);
the running image replaces the recorded one, so an image changed behind
shipway's back shows as drift. A workload whose pods exist but do not run is
live (and Degraded with podman's reason), not missing. Pods are found by
shipway's labels only (``podman_kinds``). Runs podman only through the
target's ``podman`` method.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Protocol

from shipway.cluster import podman_kinds as kinds
from shipway.cluster import podman_status as status
from shipway.cluster.podman_kinds import INSTANCE_LABEL, OWNER_KIND, OWNER_NAME, OWNER_NAMESPACE

Obj = dict[str, Any]
Pods = dict[kinds.Owner, list[Obj]]


class _Runs(Protocol):
    def podman(self, *args: str, subject: str = "podman", check: bool = True) -> str: ...


def pods(target: _Runs, app: str | None) -> Pods:
    """The app's pods (every shipway pod for None) by owner, with their containers' states."""
    label = f"{INSTANCE_LABEL}={app}" if app else INSTANCE_LABEL
    raw = target.podman("pod", "ps", "--filter", f"label={label}", "--format", "json")
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
        owner = (
            str(labels.get(OWNER_KIND, "Pod")),
            str(labels.get(OWNER_NAMESPACE, "")),
            str(labels.get(OWNER_NAME, p["Name"])),
        )
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
                    "error": str(state.get("Error") or ""),
                }
            )
        found.setdefault(owner, []).append(
            {
                "name": p["Name"],
                "id": p["Id"],
                "app": labels.get(INSTANCE_LABEL, ""),
                "containers": containers,
            }
        )
    for group in found.values():
        group.sort(key=lambda p: str(p["name"]))
    return found


def volumes(target: _Runs) -> set[str]:
    out = target.podman("volume", "ls", "--format", "json")
    return {v["Name"] for v in json.loads(out or "[]") or []}


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


def live_object(rec: Obj, found_pods: Pods, vols: set[str], error: str = "") -> Obj | None:
    """The live form of a recorded object, or None when podman no longer runs it.

    ``error`` is podman's error text from the object's last play: the reason
    shown for a pod that exists but whose containers never started.
    """
    kind, name = rec["kind"], rec["metadata"]["name"]
    live = copy.deepcopy(rec)
    if kind in kinds.WORKLOADS:
        found = found_pods.get(kinds.owner(rec), [])
        if not found and not (kind in kinds.REPLICATED and kinds.replicas(rec) == 0):
            return None
        if found:
            _set_images(kinds.template(live).get("spec") or {}, found[0]["containers"])
        live["status"] = _workload_status(rec, found, error)
        return live
    if kind == "PersistentVolumeClaim":
        if name not in vols:
            return None
        live["status"] = {"phase": "Bound"}
    elif kind == "Service" and (rec.get("spec") or {}).get("type") == "LoadBalancer":
        live["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    return live


def _workload_status(rec: Obj, found: list[Obj], error: str) -> Obj:
    kind, restart = rec["kind"], kinds.restart_policy(rec)
    if kind == "Pod":
        return status.pod(found[0], restart, error)
    if kind == "Job":
        return status.job(found[0], rec.get("spec") or {}, restart, error)
    if kind == "StatefulSet":
        return status.statefulset(found, error)
    if kind == "DaemonSet":
        return status.daemonset(found, error)
    return status.deployment(found, error)


def is_current(obj: Obj, found_pods: Pods) -> bool:
    """True when ``obj``'s pods are the ones it asks for and run its images.

    A long-running pod (``restartPolicy: Always``) must also be running; a Job
    or a run-once Pod that has finished is current, so it is not run again.
    """
    found = found_pods.get(kinds.owner(obj), [])
    if sorted(p["name"] for p in found) != sorted(kinds.pod_names(obj)):
        return False
    spec = kinds.pod_spec(obj)
    want = {c.get("name"): c.get("image") for c in spec.get("containers") or []}
    always = kinds.restart_policy(obj) == "Always"
    for p in found:
        have = {c["name"]: c["image"] for c in p["containers"]}
        if have.keys() != want.keys():
            return False
        if always and any(c["status"] != "running" for c in p["containers"]):
            return False
        if not all(same_image(str(want[n] or ""), have[n]) for n in want):
            return False
    return True
