"""An application's pods and their logs, on a podman host or a Kubernetes cluster.

``pods(target, app)`` lists the pods of an app's workloads by owner
(``(kind, namespace, name)``), each as ``{"name", "namespace", "containers":
[names], "phase"}``. On podman they are the pods shipway labelled for the app
(``podman_live.pods``); on Kubernetes the pods each live workload's
``spec.selector.matchLabels`` selects in its namespace (a Pod owns itself).

``logs(target, pods, container, follow, write)`` streams their containers'
logs to ``write`` line by line: ``podman logs [--follow]`` on podman, the pods'
``log`` API on Kubernetes. With several containers each line is prefixed
``[pod/NAME/CONTAINER]`` (kubectl's ``--prefix``); with ``follow`` they are read
at once, each on its own thread, until they end or the caller is interrupted
(Ctrl-C: every ``podman logs`` it started is ended before it returns).
Failures are ``ClusterError`` s naming the pod. May touch: the target, read only.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipway.model.errors import ClusterError, NotFoundError

if TYPE_CHECKING:
    from shipway.cluster import Target

Pod = dict[str, Any]
Owner = tuple[str, str, str]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod")


def pods(target: Target, app: str) -> dict[Owner, list[Pod]]:
    """The app's pods by owning workload."""
    from shipway.cluster.podman import PodmanTarget

    if isinstance(target, PodmanTarget):
        return _podman_pods(target, app)
    from shipway.cluster.kubernetes import KubernetesTarget

    if isinstance(target, KubernetesTarget):
        return _kube_pods(target, app)
    raise ClusterError(f"target {target.name!r} cannot list pods", subject=target.name)


def _podman_pods(target: Any, app: str) -> dict[Owner, list[Pod]]:
    from shipway.cluster import podman_live

    found: dict[Owner, list[Pod]] = {}
    for owner, listed in podman_live.pods(target, app).items():
        found[owner] = [
            {"name": p["name"], "namespace": owner[1],
             "containers": [c["name"] for c in p.get("containers") or []],
             "phase": _podman_phase(p)}
            for p in listed
        ]  # fmt: skip
    return found


def _podman_phase(pod: Pod) -> str:
    states = {str(c.get("status", "")) for c in pod.get("containers") or []}
    if states == {"running"}:
        return "Running"
    if states and states <= {"exited"}:
        failed = any(int(c.get("exitCode") or 0) for c in pod.get("containers") or [])
        return "Failed" if failed else "Succeeded"
    return "Pending"


def _core(target: Any) -> Any:
    from kubernetes import client as kclient

    return kclient.CoreV1Api(target.dyn.client)


def _kube_pods(target: Any, app: str) -> dict[Owner, list[Pod]]:
    from kubernetes.client.exceptions import ApiException

    core = _core(target)
    found: dict[Owner, list[Pod]] = {}
    for obj in target.live(app).values():
        kind = str(obj.get("kind", ""))
        if kind not in WORKLOADS:
            continue
        meta = obj.get("metadata") or {}
        ns, name = str(meta.get("namespace") or "default"), str(meta.get("name", ""))
        try:
            if kind == "Pod":
                items = [core.read_namespaced_pod(name, ns).to_dict()]
            else:
                match = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
                if not match:
                    continue
                sel = ",".join(f"{k}={v}" for k, v in sorted(match.items()))
                items = core.list_namespaced_pod(ns, label_selector=sel).to_dict()["items"]
        except ApiException as exc:
            subject = f"{kind}/{ns}/{name}"
            raise ClusterError(f"cannot list pods: {exc.reason}", subject=subject) from exc
        found[(kind, ns, name)] = sorted(
            ({"name": p["metadata"]["name"], "namespace": ns,
              "containers": [c["name"] for c in (p.get("spec") or {}).get("containers") or []],
              "phase": (p.get("status") or {}).get("phase") or ""} for p in items),
            key=lambda p: str(p["name"]),
        )  # fmt: skip
    return found


Write = Callable[[str], None]


def logs(target: Target, found: list[Pod], container: str | None, follow: bool,
         write: Write) -> None:  # fmt: skip
    """Stream the logs of ``found`` pods' containers (only ``container`` if given)."""
    streams = [(p, c) for p in found for c in p["containers"] if container in (None, c)]
    if not streams:
        if container and found:
            names = sorted({c for p in found for c in p["containers"]})
            raise NotFoundError(
                f"container {container} is not valid for the app's pods: choose one of {names}",
                subject=f"pod/{found[0]['name']}",
            )
        raise NotFoundError("no pods found", subject=f"pods of {target.name}")
    prefix = len(streams) > 1
    lock = threading.Lock()
    children: list[subprocess.Popen[str]] = []  # the ``podman logs`` running, ended on the way out

    def run(pod: Pod, ctr: str) -> None:
        tag = f"[pod/{pod['name']}/{ctr}] " if prefix else ""

        def line(text: str) -> None:
            with lock:
                write(tag + text)

        _stream(target, pod, ctr, follow, line, children)

    try:
        _run_all(streams, follow, run)
    finally:  # Ctrl-C reaches the main thread only: the followers' children end here
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def _run_all(streams: list[tuple[Pod, str]], follow: bool,
             run: Callable[[Pod, str], None]) -> None:  # fmt: skip
    """Each stream in turn, or with ``follow`` (several) each on a thread of its own."""
    if not follow or len(streams) == 1:
        for pod, ctr in streams:
            run(pod, ctr)
        return
    errors: list[BaseException] = []

    def guarded(pod: Pod, ctr: str) -> None:
        try:
            run(pod, ctr)
        except BaseException as exc:  # re-raised on the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=s, daemon=True) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    if errors:
        raise errors[0]


def _stream(target: Target, pod: Pod, ctr: str, follow: bool, line: Write,
            children: list[subprocess.Popen[str]]) -> None:  # fmt: skip
    from shipway.cluster.podman import PodmanTarget

    subject = f"pod/{pod['name']}"
    if isinstance(target, PodmanTarget):
        args = ["podman", "logs", *(["--follow"] if follow else []), f"{pod['name']}-{ctr}"]
        try:
            proc = subprocess.Popen(args, env=target.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    stdin=subprocess.DEVNULL)  # fmt: skip
        except OSError as exc:
            raise ClusterError(f"cannot run podman: {exc}", subject=subject) from exc
        children.append(proc)
        assert proc.stdout is not None
        try:
            for text in proc.stdout:
                line(text.rstrip("\n"))
        finally:
            proc.kill()
            code = proc.wait()
        if code not in (0, -9) and not follow:
            raise ClusterError(f"podman logs failed (exit {code})", subject=subject)
        return
    from kubernetes.client.exceptions import ApiException

    try:
        resp = _core(target).read_namespaced_pod_log(
            pod["name"], pod["namespace"], container=ctr, follow=follow, _preload_content=False
        )
        pending = b""
        for chunk in resp.stream(4096):
            pending += chunk
            *done, pending = pending.split(b"\n")
            for raw in done:
                line(raw.decode("utf-8", "replace"))
        if pending:
            line(pending.decode("utf-8", "replace"))
    except ApiException as exc:
        raise ClusterError(f"cannot read logs: {exc.reason}", subject=subject) from exc
