"""A fake kubelet: Pods created in the fake API server run as podman pods.

Each Pod becomes a podman pod (one network namespace, so containers reach each
other on localhost; ``hostAliases`` become ``--add-host``) and each container
a podman container with the Pod's image, command, args, env, workingDir and
volume mounts (``hostPath``; ``emptyDir`` as a fresh directory; a
``persistentVolumeClaim`` as the directory ``claims`` maps its name to).
Status moves Pending → Running → Succeeded/Failed through the store, so get and
watch see it; a missing image leaves the Pod Pending with ErrImagePull, then
ImagePullBackOff. An exec ``readinessProbe`` runs with ``podman exec`` at its
periodSeconds and thresholds and sets ``containerStatuses[].ready`` and the
Ready/ContainersReady conditions (a container without one is ready while it
runs). ``log`` and ``exec`` read podman. Everything it starts is
labelled with the kubelet's id and removed on Pod delete and in ``close()``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fake_kube.pod_logs import pick_container
from fake_kube.store import ApiError, Store

Obj = dict[str, Any]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Kubelet:
    """Runs the store's Pods with podman under ``env`` (CONTAINERS_CONF and friends)."""

    def __init__(self, store: Store, env: Mapping[str, str],
                 claims: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.store, self.env = store, {**os.environ, **env}
        self.claims = dict(claims or {})
        self.id = uuid.uuid4().hex[:8]
        self.tmp = Path(tempfile.mkdtemp(prefix="fake-kubelet-"))
        self.pods: dict[tuple[str, str], str] = {}  # (ns, name) -> podman pod name
        self.stopping: set[str] = set()  # podman pod names of deleted Pods
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.closing = threading.Event()
        self.ready: dict[tuple[str, str], bool] = {}  # (podman pod, container): probe says ready

    # -- podman ------------------------------------------------------------------
    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip

    def container(self, ns: str, name: str, container: str | None) -> str:
        """The podman container of ``container`` in Pod ns/name (ApiError when not running)."""
        pod = self.store.objects.get(("Pod", ns, name))
        container = pick_container(pod, name, container)
        assert pod is not None
        statuses = {s["name"]: s for s in (pod.get("status") or {}).get("containerStatuses") or []}
        state = (statuses.get(container) or {}).get("state") or {}
        if "waiting" in state or not state:
            reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is '
                           f"waiting to start: {reason}")  # fmt: skip
        return f"{self.pods[(ns, name)]}-{container}"

    # -- lifecycle -------------------------------------------------------------
    def created(self, pod: Obj) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        pname = f"fk{self.id}-{key[0]}-{key[1]}"[:50] + "-" + meta["uid"][:6]
        with self.lock:
            self.pods[key] = pname
        t = threading.Thread(target=self._run, args=(key, pname, pod), daemon=True)
        self.threads.append(t)
        t.start()

    def deleted(self, ns: str, name: str) -> None:
        """Remove the Pod's podman pod (in the background, as a real kubelet does)."""
        with self.lock:
            pname = self.pods.pop((ns, name), None)
        if pname is not None:
            self.stopping.add(pname)
            t = threading.Thread(target=self.podman, args=("pod", "rm", "-f", "-t", "0", pname),
                                 daemon=True)  # fmt: skip
            self.threads.append(t)
            t.start()

    def close(self) -> None:
        self.closing.set()
        with self.lock:
            keys = list(self.pods)
        for ns, name in keys:
            self.deleted(ns, name)
        for t in list(self.threads):
            t.join(timeout=120)
        out = self.podman("pod", "ps", "-q", "--filter", f"label=fake-kubelet={self.id}")
        ids = out.stdout.split()
        if ids:
            self.podman("pod", "rm", "-f", "-t", "0", *ids)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _gone(self, pname: str) -> bool:
        return self.closing.is_set() or pname in self.stopping

    def _status(self, key: tuple[str, str], pname: str, status: Obj) -> None:
        with self.store.lock:
            if not self._gone(pname):
                self.store.set_status("Pod", key[0], key[1], status)

    def _run(self, key: tuple[str, str], pname: str, pod: Obj) -> None:
        spec = pod.get("spec") or {}
        containers = spec.get("containers") or []
        waiting = [{"name": c["name"], "ready": False, "restartCount": 0, "image": c.get("image"),
                    "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}
                   for c in containers]  # fmt: skip
        self._status(key, pname, {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "True"}], "containerStatuses": waiting})  # fmt: skip
        for i, c in enumerate(containers):
            err = self._pull(str(c.get("image") or ""))
            if err:
                waiting[i]["state"] = {"waiting": {"reason": "ErrImagePull", "message": err}}
                self._status(key, pname, {"phase": "Pending", "containerStatuses": waiting})
                backoff = f'Back-off pulling image "{c.get("image")}"'
                waiting[i]["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                                   "message": backoff}}  # fmt: skip
                self._status(key, pname, {"phase": "Pending", "containerStatuses": waiting})
                return
        try:
            self._start(key, pname, pod)
        except RuntimeError as exc:
            for w in waiting:
                w["state"] = {"waiting": {"reason": "CreateContainerError", "message": str(exc)}}
            self._status(key, pname, {"phase": "Pending", "containerStatuses": waiting})
            return
        finally:
            if self._gone(pname):  # deleted while starting: the delete's rm may have come first
                self.podman("pod", "rm", "-f", "-t", "0", pname)
        probes = {c["name"]: c["readinessProbe"] for c in containers if c.get("readinessProbe")}
        for cname, probe in probes.items():
            t = threading.Thread(target=self._probe, args=(pname, cname, probe), daemon=True)
            self.threads.append(t)
            t.start()
        self._monitor(key, pname, {c["name"]: str(c.get("image")) for c in containers},
                      set(probes))  # fmt: skip

    def _probe(self, pname: str, cname: str, probe: Obj) -> None:
        """Run an exec readinessProbe as the kubelet does: every periodSeconds after
        initialDelaySeconds; ready after successThreshold passes in a row, not ready after
        failureThreshold failures in a row (a timeout is a failure)."""
        argv = (probe.get("exec") or {}).get("command") or []
        period = float(probe.get("periodSeconds") or 10)
        limit = float(probe.get("timeoutSeconds") or 1)
        need_ok = int(probe.get("successThreshold") or 1)
        need_bad = int(probe.get("failureThreshold") or 3)
        ok = bad = 0
        if self.closing.wait(float(probe.get("initialDelaySeconds") or 0)):
            return
        while not self._gone(pname):
            try:
                passed = bool(argv) and self.podman("exec", f"{pname}-{cname}", *argv,
                                                    timeout=limit).returncode == 0  # fmt: skip
            except subprocess.TimeoutExpired:
                passed = False
            ok, bad = (ok + 1, 0) if passed else (0, bad + 1)
            with self.lock:
                if ok >= need_ok:
                    self.ready[(pname, cname)] = True
                elif bad >= need_bad:
                    self.ready[(pname, cname)] = False
            if self.closing.wait(period):
                return

    def _pull(self, image: str) -> str:
        if self.podman("image", "exists", image).returncode == 0:
            return ""
        try:
            proc = self.podman("pull", "-q", image, timeout=60)
        except subprocess.TimeoutExpired:
            return f"pulling {image} timed out"
        return "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["?"])[-1]

    def _volumes(self, key: tuple[str, str], spec: Obj) -> dict[str, str]:
        out = {}
        for vol in spec.get("volumes") or []:
            name = vol["name"]
            if "hostPath" in vol:
                out[name] = vol["hostPath"]["path"]
            elif "emptyDir" in vol:
                path = self.tmp / key[0] / key[1] / name
                path.mkdir(parents=True, exist_ok=True)
                out[name] = str(path)
            elif "persistentVolumeClaim" in vol:
                claim = vol["persistentVolumeClaim"]["claimName"]
                if claim not in self.claims:
                    raise RuntimeError(f'persistentvolumeclaim "{claim}" not found')
                out[name] = self.claims[claim]
        return out

    def _start(self, key: tuple[str, str], pname: str, pod: Obj) -> None:
        spec = pod.get("spec") or {}
        if self._gone(pname):
            return
        args = ["pod", "create", "--name", pname, "--label", f"fake-kubelet={self.id}",
                "--hostname", key[1][:63]]  # fmt: skip
        for alias in spec.get("hostAliases") or []:
            for host in alias.get("hostnames") or []:
                args += ["--add-host", f"{host}:{alias['ip']}"]
        self._check(self.podman(*args))
        volumes = self._volumes(key, spec)
        for c in spec.get("containers") or []:
            self._check(self.podman(*self._run_args(key[0], pname, c, volumes)))

    def _secret_env(self, ns: str, c: Obj) -> list[str]:
        """``envFrom`` Secrets as ``-e`` options (``data`` is base64, ``stringData`` is not)."""
        args = []
        for src in c.get("envFrom") or []:
            name = (src.get("secretRef") or {}).get("name")
            with self.store.lock:
                secret = self.store.objects.get(("Secret", ns, name))
            if secret is None:
                raise RuntimeError(f'secret "{name}" not found')
            values = {
                k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()
            }
            values.update(secret.get("stringData") or {})
            args += [a for k, v in values.items() for a in ("-e", f"{k}={v}")]
        return args

    def _run_args(self, ns: str, pname: str, c: Obj, volumes: dict[str, str]) -> list[str]:
        args = ["run", "-d", "--pod", pname, "--name", f"{pname}-{c['name']}"]
        args += self._secret_env(ns, c)
        for e in c.get("env") or []:
            if "value" in e:
                args += ["-e", f"{e['name']}={e['value']}"]
        if c.get("workingDir"):
            args += ["-w", c["workingDir"]]
        for m in c.get("volumeMounts") or []:
            src = volumes.get(m["name"])
            if src is None:
                raise RuntimeError(f'volume "{m["name"]}" not found')
            args += ["-v", f"{src}:{m['mountPath']}:{'ro' if m.get('readOnly') else 'rw'}"]
        if c.get("command"):
            args += ["--entrypoint", json.dumps(c["command"])]
        return [*args, c["image"], *(c.get("args") or [])]

    @staticmethod
    def _check(proc: subprocess.CompletedProcess[str]) -> None:
        if proc.returncode != 0:
            raise RuntimeError((proc.stderr.strip().splitlines() or ["podman failed"])[-1])

    def _monitor(self, key: tuple[str, str], pname: str, images: dict[str, str],
                 probed: set[str]) -> None:  # fmt: skip
        names = list(images)
        last: Obj = {}
        while not self._gone(pname):
            proc = self.podman("inspect", "--format", "{{.Name}} {{.State.Status}} "
                               "{{.State.ExitCode}} {{.ImageDigest}}",
                               *[f"{pname}-{n}" for n in names])  # fmt: skip
            if proc.returncode != 0:
                return
            statuses, done, failed, all_ready = [], 0, False, True
            for line, name in zip(proc.stdout.splitlines(), names, strict=False):
                _, state, code, digest = [*line.split(), ""][:4]
                if state in ("exited", "stopped"):
                    done += 1
                    failed |= code != "0"
                    st: Obj = {"terminated": {"exitCode": int(code), "reason":
                                              "Completed" if code == "0" else "Error"}}  # fmt: skip
                else:
                    st = {"running": {"startedAt": _now()}}
                with self.lock:
                    ready = "running" in st and (
                        name not in probed or self.ready.get((pname, name), False)
                    )
                all_ready &= ready
                statuses.append({"name": name, "ready": ready, "restartCount": 0,
                                 "image": images[name], "imageID": digest,
                                 "containerID": f"podman://{pname}-{name}",
                                 "state": st})  # fmt: skip
            phase = "Running" if done < len(names) else ("Failed" if failed else "Succeeded")
            ready_now = str(phase == "Running" and all_ready)
            conds = [{"type": "PodScheduled", "status": "True"},
                     {"type": "ContainersReady", "status": ready_now},
                     {"type": "Ready", "status": ready_now}]  # fmt: skip
            status = {"phase": phase, "podIP": "127.0.0.1", "containerStatuses": statuses,
                      "conditions": conds}  # fmt: skip
            if _shape(status) != _shape(last):
                self._status(key, pname, status)
                last = status
            if phase != "Running":
                return
            self.closing.wait(0.3)


def _shape(status: Obj) -> Any:
    """A status without timestamps (to write only real changes)."""
    return [(s["name"], sorted(s["state"]), s["state"].get("terminated"), s["ready"])
            for s in status.get("containerStatuses") or []], status.get("phase")  # fmt: skip
