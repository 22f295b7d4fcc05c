"""Pods for CI jobs on a Kubernetes cluster: create, wait until running, exec streamed, delete.

An adapter over the official client (``CoreV1Api`` and ``kubernetes.stream``,
the websocket exec channel protocol). The kubeconfig is read as
``cluster.kubernetes`` reads it (a file and context, or a bare server URL).
API, websocket and scheduling failures become ``CIError`` naming the Pod
(``Pod/<namespace>/<name>``). Touches only the Pods it is asked to create.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.stream import stream
from websocket import WebSocketException

from shipway.model.errors import CIError

Obj = dict[str, Any]
# waiting reasons that will not fix themselves: report at once
_FATAL = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
          "CreateContainerConfigError", "CreateContainerError", "RunContainerError")  # fmt: skip


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    try:
        return str(json.loads(body or "").get("message") or body)
    except (ValueError, TypeError, AttributeError):
        return str(body or exc)


class KubePods:
    """Pods in one namespace of one cluster."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        """``spec``: ``kubeconfig`` (file; default ``$KUBECONFIG``/``~/.kube/config``),
        ``context``, ``server`` (instead of a kubeconfig), ``namespace``."""
        name = str(spec.get("context") or spec.get("server") or "kubernetes")
        try:
            if spec.get("server") and not spec.get("kubeconfig"):
                cfg = kclient.Configuration()
                cfg.host = str(spec["server"])
                self.api = kclient.ApiClient(cfg)
                default_ns = "default"
            else:
                path = str(spec["kubeconfig"]) if spec.get("kubeconfig") else None
                context = str(spec["context"]) if spec.get("context") else None
                self.api = kconfig.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=path, context=context
                )
                default_ns = _context_namespace(path, context)
        except (ConfigException, OSError, KeyError, TypeError) as exc:
            raise CIError(f"cannot load the kubeconfig: {exc}", subject=name) from None
        self.namespace = str(spec.get("namespace") or default_ns)
        self.core = kclient.CoreV1Api(self.api)

    def subject(self, name: str) -> str:
        return f"Pod/{self.namespace}/{name}"

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def _get(self, name: str) -> Obj:
        resp: Any = self.core.read_namespaced_pod(name, self.namespace, _preload_content=False)
        data: Obj = json.loads(resp.data)
        return data

    def get(self, name: str) -> Obj:
        """The pod as the API server has it (``CIError`` when it cannot be read)."""
        try:
            return self._get(name)
        except (ApiException, OSError) as exc:
            raise CIError(f"cannot read the pod: {_message(exc)}",
                          subject=self.subject(name)) from None  # fmt: skip

    def create(self, body: Obj, replace_within: float = 60) -> None:
        """Create the pod; one left by an earlier try of the same job (a resumed run) is
        deleted first, waiting up to ``replace_within`` seconds for it to go."""
        name = body["metadata"]["name"]
        deadline = time.monotonic() + replace_within
        while True:
            try:
                self.core.create_namespaced_pod(self.namespace, cast(Any, body),
                                                _preload_content=False)  # fmt: skip
                return
            except ApiException as exc:
                if exc.status != 409 or time.monotonic() > deadline:
                    raise CIError(f"cannot create the pod: {_message(exc)}",
                                  subject=self.subject(name)) from None  # fmt: skip
            except OSError as exc:
                raise CIError(f"cannot create the pod: {exc}", subject=self.subject(name)) from None
            self.delete(name)
            time.sleep(0.5)

    def delete(self, name: str) -> None:
        """Delete at once (grace period 0); a pod already gone is fine."""
        try:
            self.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=0,
                                            _preload_content=False)  # fmt: skip
        except ApiException as exc:
            if exc.status != 404:
                raise CIError(f"cannot delete the pod: {_message(exc)}",
                              subject=self.subject(name)) from None  # fmt: skip
        except OSError as exc:
            raise CIError(f"cannot delete the pod: {exc}", subject=self.subject(name)) from None

    def create_secret(self, name: str, data: Mapping[str, str], labels: Mapping[str, str],
                      type_: str = "Opaque") -> None:  # fmt: skip
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        body = {"apiVersion": "v1", "kind": "Secret", "type": type_,
                "metadata": {"name": name, "labels": dict(labels)}, "data": encoded}  # fmt: skip
        try:
            self.core.create_namespaced_secret(self.namespace, cast(Any, body),
                                               _preload_content=False)  # fmt: skip
        except (ApiException, OSError) as exc:
            raise CIError(f"cannot create the secret: {_message(exc)}",
                          subject=f"Secret/{self.namespace}/{name}") from None  # fmt: skip

    def delete_secret(self, name: str) -> None:
        try:
            self.core.delete_namespaced_secret(name, self.namespace, _preload_content=False)
        except ApiException as exc:
            if exc.status != 404:
                raise CIError(f"cannot delete the secret: {_message(exc)}",
                              subject=f"Secret/{self.namespace}/{name}") from None  # fmt: skip

    def logs(self, name: str, container: str) -> str:
        try:
            resp: Any = self.core.read_namespaced_pod_log(name, self.namespace, container=container,
                                                          _preload_content=False)  # fmt: skip
            return str(resp.data.decode(errors="replace"))
        except (ApiException, OSError) as exc:
            raise CIError(f"cannot read the logs of {container}: {_message(exc)}",
                          subject=self.subject(name)) from None  # fmt: skip

    def wait_exit(self, name: str, container: str, timeout: float,
                  cancel: threading.Event) -> int | None:  # fmt: skip
        """Wait until ``container`` has exited: its exit code, or ``None`` when ``timeout``
        passed or ``cancel`` was set first; ``CIError`` when it cannot start."""
        deadline = time.monotonic() + timeout
        while not cancel.is_set() and time.monotonic() < deadline:
            try:
                pod = self._get(name)
            except (ApiException, OSError) as exc:
                raise CIError(f"cannot read the pod: {_message(exc)}",
                              subject=self.subject(name)) from None  # fmt: skip
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                state = cs.get("state") or {}
                waiting = state.get("waiting") or {}
                if waiting.get("reason") in _FATAL:
                    raise CIError(f"container {container} (image {cs.get('image')}) cannot "
                                  f"start: {waiting['reason']}: {waiting.get('message', '')}",
                                  subject=self.subject(name))  # fmt: skip
                if cs.get("name") == container and state.get("terminated"):
                    return int(state["terminated"].get("exitCode", 1))
            cancel.wait(0.2)
        return None

    def wait_running(self, name: str, timeout: float, cancel: threading.Event) -> None:
        """Wait until every container of the pod runs; raise ``CIError`` saying why not."""
        deadline = time.monotonic() + timeout
        why = "not scheduled yet"
        while not cancel.is_set():
            try:
                pod = self._get(name)
            except (ApiException, OSError) as exc:
                raise CIError(f"cannot read the pod: {_message(exc)}",
                              subject=self.subject(name)) from None  # fmt: skip
            done, why = _progress(pod)
            if done:
                return
            if time.monotonic() >= deadline:
                raise CIError(f"pod not running after {timeout:.0f}s: {why}",
                              subject=self.subject(name))  # fmt: skip
            cancel.wait(0.2)
        raise CIError("cancelled while waiting for the pod", subject=self.subject(name))

    def exec(
        self,
        name: str,
        container: str,
        argv: list[str],
        on_line: Callable[[str], None],
        timeout: float,
        cancel: threading.Event,
    ) -> int | None:
        """Run ``argv`` in ``container``; each output line to ``on_line``; its exit status,
        or ``None`` when ``timeout`` passed or ``cancel`` was set first (stream closed)."""
        subject = self.subject(name)
        try:
            ws = stream(self.core.connect_get_namespaced_pod_exec, name, self.namespace,
                        command=argv, container=container, stdout=True, stderr=True,
                        stdin=False, tty=False, _preload_content=False, binary=True)  # fmt: skip
        except (ApiException, WebSocketException, OSError) as exc:
            raise CIError(f"cannot exec in container {container}: {_message(exc)}",
                          subject=subject) from None  # fmt: skip
        deadline = time.monotonic() + timeout
        bufs = {1: b"", 2: b""}
        try:
            while ws.is_open():
                left = deadline - time.monotonic()
                if cancel.is_set() or left <= 0:
                    return None
                ws.update(timeout=min(left, 0.25))
                for ch in (1, 2):
                    bufs[ch] = _lines(bufs[ch] + (ws.read_channel(ch) or b""), on_line)
            for ch in (1, 2):
                bufs[ch] = _lines(bufs[ch] + (ws.read_channel(ch) or b""), on_line)
                if bufs[ch]:
                    on_line(bufs[ch].decode(errors="replace"))
            status = ws.read_channel(3)
        except (WebSocketException, OSError) as exc:
            raise CIError(f"exec in container {container} failed: {exc}", subject=subject) from None
        finally:
            ws.close()
        return _exit_status(status, subject)


def _lines(data: bytes, on_line: Callable[[str], None]) -> bytes:
    """Hand every complete line of ``data`` to ``on_line``; return the rest."""
    *whole, rest = data.split(b"\n")
    for line in whole:
        on_line(line.removesuffix(b"\r").decode(errors="replace"))
    return rest


def _exit_status(status: bytes | str, subject: str) -> int:
    try:
        obj = json.loads(status or "{}")
    except ValueError:
        obj = {}
    if obj.get("status") == "Success":
        return 0
    if obj.get("reason") == "NonZeroExitCode":
        for cause in (obj.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                return int(cause.get("message", "1"))
    raise CIError(f"exec failed: {obj.get('message') or 'no status from the API server'}",
                  subject=subject)  # fmt: skip


def _progress(pod: Obj) -> tuple[bool, str]:
    """(all containers running, what the pod is waiting for); ``CIError`` when it never will."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    subject = f"Pod/{meta.get('namespace', '')}/{meta.get('name', '')}"
    phase = status.get("phase") or "Pending"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return False, f"{cond.get('reason') or 'Unschedulable'}: {cond.get('message', '')}"
    statuses = status.get("containerStatuses") or []
    for cs in statuses:
        state = cs.get("state") or {}
        waiting, ended = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason") in _FATAL:
            raise CIError(f"container {cs.get('name')} (image {cs.get('image')}) cannot start: "
                          f"{waiting['reason']}: {waiting.get('message', '')}".rstrip(": "),
                          subject=subject)  # fmt: skip
        if ended is not None:
            raise CIError(f"container {cs.get('name')} exited with code "
                          f"{ended.get('exitCode')} ({ended.get('reason', '')}) before the job "
                          "started", subject=subject)  # fmt: skip
    if phase in ("Failed", "Succeeded"):
        raise CIError(f"pod ended ({phase}) before the job started", subject=subject)
    want = len((pod.get("spec") or {}).get("containers") or [])
    running = [cs for cs in statuses if "running" in (cs.get("state") or {})]
    if phase == "Running" and len(running) == want:
        return True, ""
    waiting = [f"{cs.get('name')}: {(cs.get('state') or {}).get('waiting', {}).get('reason')}"
               for cs in statuses if cs not in running]  # fmt: skip
    return False, f"phase {phase}" + (f" ({', '.join(waiting)})" if waiting else "")


def _context_namespace(path: str | None, context: str | None) -> str:
    contexts, active = kconfig.list_kube_config_contexts(  # type: ignore[no-untyped-call]
        config_file=path
    )
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
