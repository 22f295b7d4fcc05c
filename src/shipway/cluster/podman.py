"""The podman host target: rendered manifests run for real with ``podman kube play``.

The built-in cluster ``local``. The caller hands in the podman environment
(``shipway.runtime.podman_env`` under ``$SHIPWAY_HOME/podman``).

Kinds: Deployment, Pod (run as pods), ConfigMap (passed to every play of
the app's workloads), Secret (a podman secret), PersistentVolumeClaim (a
podman volume), Service, Namespace (kept as records). Podman has no API
object for a ConfigMap or Service, so the target keeps the last applied
manifest of each object under ``$SHIPWAY_HOME/podman/objects/<app>.json``;
live state of workloads is read
from podman itself (``podman pod ps``, ``podman container inspect``): the
running images and container states become the live object's ``status``.

Services: a ``NodePort`` or ``LoadBalancer`` Service publishes its port on
127.0.0.1 (``nodePort`` if set, else ``port``) to the pods it selects, by
adding ``hostPort``/``hostIP`` to the selected containers at play time. Give
such a Deployment one replica: replicas share the host's port.

A change to a ConfigMap, Secret or Service replays the app's workloads so
they see it. Only this module runs ``podman`` for the reconciler; it touches
``$SHIPWAY_HOME/podman`` and the pods and volumes it labels.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from shipway.cluster import INSTANCE_LABEL, TRACKING_ANNOTATION, Result
from shipway.cluster import last_applied as last_mod
from shipway.cluster import podman_live as live_mod
from shipway.model.errors import ClusterError
from shipway.settings import Settings

WORKLOADS = frozenset({"Deployment", "Pod"})
KINDS = frozenset(
    {"Deployment", "Pod", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Namespace"}
)
OWNER_KIND, OWNER_NAME = "shipway.dev/owner-kind", "shipway.dev/owner-name"
TIMEOUT = 180.0

Obj = dict[str, Any]


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{group}/{obj.get('kind')}/{meta.get('namespace') or ''}/{meta.get('name')}"


class PodmanTarget:
    """A podman host (this machine) as a deployment target."""

    name = "local"

    def __init__(
        self, settings: Settings, podman_env: dict[str, str], url: str | None = None
    ) -> None:
        self.base = settings.home / "podman"
        self.url = url
        self._podman_env = podman_env
        self._env: dict[str, str] | None = None

    # -- plumbing ---------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        if self._env is None:
            self._env = {**os.environ, **self._podman_env}
            if self.url:
                self._env["CONTAINER_HOST"] = self.url
        return self._env

    def podman(self, *args: str, subject: str = "podman", check: bool = True) -> str:
        try:
            proc = subprocess.run(
                ["podman", *args],
                capture_output=True,
                text=True,
                env=self.env,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(
                f"podman {args[0]} timed out after {TIMEOUT:.0f}s", subject=subject
            ) from exc
        except OSError as exc:
            raise ClusterError(f"cannot run podman: {exc}", subject=subject) from exc
        if check and proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            errs = [ln for ln in lines if "rror" in ln] or lines
            raise ClusterError(
                f"podman {args[0]} {args[1] if len(args) > 1 else ''}: "
                f"{errs[-1] if errs else 'failed'}".replace("  ", " "),
                subject=subject,
            )
        return proc.stdout

    def _records_file(self, app: str) -> Path:
        return self.base / "objects" / f"{app}.json"

    def records(self, app: str) -> dict[str, Obj]:
        f = self._records_file(app)
        return dict(json.loads(f.read_text())) if f.exists() else {}

    def _save_records(self, app: str, records: dict[str, Obj]) -> None:
        f = self._records_file(app)
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(records, fh)
        os.replace(tmp, f)

    # -- the Target interface ----------------------------------------------

    def known_kinds(self) -> frozenset[str]:
        return KINDS

    def last_applied(self, app: str) -> dict[str, Obj]:
        return last_mod.load(self.base, app)

    def live(self, app: str) -> dict[str, Obj]:
        records = self.records(app)
        pods = live_mod.pods(self, app)
        volumes = (
            live_mod.volumes(self)
            if any(r.get("kind") == "PersistentVolumeClaim" for r in records.values())
            else set()
        )
        out: dict[str, Obj] = {}
        for key, rec in records.items():
            obj = live_mod.live_object(rec, pods, volumes)
            if obj is not None:
                out[key] = obj
        return out

    def apply(
        self, app: str, objects: list[Obj], *, options: frozenset[str] = frozenset()
    ) -> list[Result]:
        records = self.records(app)
        results: list[Result] = []
        replay_all = False
        workloads: list[Obj] = []
        for obj in objects:
            key, kind = _key(obj), obj["kind"]
            before = records.get(key)
            if kind in WORKLOADS:
                workloads.append(obj)
                continue
            try:
                if kind == "Secret" and before != obj:
                    self._secret(obj, key)
                elif _needs_play(kind, before, obj):
                    self._play([obj], subject=key)
            except ClusterError as exc:
                results.append(Result(key, "SyncFailed", "failed", exc.message))
                continue
            records[key] = obj
            action = (
                "created" if before is None else ("unchanged" if before == obj else "configured")
            )
            replay_all |= action != "unchanged" and kind in ("ConfigMap", "Secret", "Service")
            results.append(Result(key, "Synced", action, f"{kind.lower()} {action}"))
        self._save_records(app, records)
        if replay_all:
            names = {_key(w) for w in workloads}
            workloads += [
                r for k, r in records.items() if r["kind"] in WORKLOADS and k not in names
            ]
        pods: live_mod.Pods = live_mod.pods(self, app) if workloads else {}
        for obj in workloads:
            results.append(self._apply_workload(app, obj, records, pods, force=replay_all))
            self._save_records(app, records)
        last_mod.record(self.base, app, objects, results)
        return results

    def delete(self, app: str, objects: list[Obj]) -> list[Result]:
        records = self.records(app)
        results = []
        for obj in objects:
            key, kind = _key(obj), obj["kind"]
            try:
                if kind in WORKLOADS:
                    self._stop(app, records.get(key) or obj)
                    self._down(records.get(key) or obj, key)
                elif kind == "PersistentVolumeClaim":
                    self.podman("volume", "rm", "-f", obj["metadata"]["name"], subject=key)
                elif kind == "Secret":
                    self.podman("secret", "rm", obj["metadata"]["name"], subject=key, check=False)
            except ClusterError as exc:
                results.append(Result(key, "SyncFailed", "failed", exc.message))
                continue
            records.pop(key, None)
            results.append(Result(key, "Pruned", "deleted", "pruned"))
        self._save_records(app, records)
        last_mod.forget(self.base, app, results)
        return results

    def clean(self, app: str | None = None) -> list[str]:
        """Remove every pod shipway labelled (for ``app``, or all) and forget the records."""
        label = f"{INSTANCE_LABEL}={app}" if app else INSTANCE_LABEL
        out = self.podman("pod", "ps", "-q", "--filter", f"label={label}", "--no-trunc")
        ids = out.split()
        if ids:
            self.podman("pod", "rm", "-f", "-t", "0", *ids)
        for f in (self.base / "objects").glob(f"{app or '*'}.json"):
            f.unlink()
        last_mod.clear(self.base, app)
        return ids

    # -- workloads ------------------------------------------------------------

    def _apply_workload(
        self, app: str, obj: Obj, records: dict[str, Obj], pods: live_mod.Pods, *, force: bool
    ) -> Result:
        key = _key(obj)
        before = records.get(key)
        if not force and before == obj and live_mod.is_current(obj, pods):
            return Result(key, "Synced", "unchanged", f"{obj['kind'].lower()} unchanged")
        self._stop(app, before or obj, pods)
        play = translate(app, obj, list(records.values()))
        config = [r for r in records.values() if r["kind"] == "ConfigMap"]
        try:
            self._play([play, *config], subject=key)
        except ClusterError as exc:
            return Result(key, "SyncFailed", "failed", exc.message)
        records[key] = obj
        action = "created" if before is None else "configured"
        return Result(key, "Synced", action, f"{obj['kind'].lower()} {action}")

    def _play(self, docs: list[Obj], subject: str) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=self.base, delete=False) as fh:
            yaml.safe_dump_all(docs, fh, sort_keys=False)
        try:
            self.podman("kube", "play", "--replace", "--tls-verify=false", fh.name, subject=subject)
        finally:
            os.unlink(fh.name)

    def _secret(self, obj: Obj, subject: str) -> None:
        """A podman secret holding ``{key: base64 value}`` JSON, what podman 4.3's ``kube
        play`` reads for ``secretKeyRef`` (a Secret played by ``kube play`` itself is stored
        as YAML, which that lookup then fails to parse)."""
        name = obj["metadata"]["name"]
        self.podman("secret", "rm", name, subject=subject, check=False)
        self.base.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(suffix=".json", dir=self.base)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(_secret_as_stored(obj), fh)
            self.podman("secret", "create", name, path, subject=subject)
        finally:
            os.unlink(path)

    def _stop(self, app: str, obj: Obj, pods: live_mod.Pods | None = None) -> None:
        """Stop a workload's pods within its ``terminationGracePeriodSeconds`` (podman: 10)."""
        found = (pods if pods is not None else live_mod.pods(self, app)).get(
            (obj["kind"], obj["metadata"]["name"])
        )
        if found:
            grace = _pod_spec(obj).get("terminationGracePeriodSeconds", 10)
            names = [p["name"] for p in found]
            self.podman("pod", "stop", "-t", str(int(grace)), *names, check=False)

    def _down(self, obj: Obj, subject: str) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=self.base, delete=False) as fh:
            yaml.safe_dump(obj, fh, sort_keys=False)
        try:
            self.podman("kube", "down", fh.name, subject=subject)
        finally:
            os.unlink(fh.name)


def _secret_as_stored(obj: Obj) -> dict[str, str]:
    """The Secret's keys → base64 values (``stringData`` folded in), the JSON podman reads."""
    data = {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    for k, v in (obj.get("stringData") or {}).items():
        data[str(k)] = base64.b64encode(str(v).encode()).decode()
    return data


def _needs_play(kind: str, before: Obj | None, obj: Obj) -> bool:
    """A PVC's podman volume is made once (by ``kube play``)."""
    return kind == "PersistentVolumeClaim" and before is None


def _pod_template(obj: Obj) -> Obj:
    if obj["kind"] == "Pod":
        return obj
    tmpl = obj.setdefault("spec", {}).setdefault("template", {})
    assert isinstance(tmpl, dict)
    return tmpl


def _pod_spec(obj: Obj) -> Obj:
    spec = _pod_template(copy.deepcopy(obj)).get("spec") or {}
    return spec if isinstance(spec, dict) else {}


def _selects(service: Obj, labels: dict[str, str]) -> bool:
    sel = (service.get("spec") or {}).get("selector") or {}
    return bool(sel) and all(labels.get(k) == v for k, v in sel.items())


def translate(app: str, obj: Obj, others: list[Obj]) -> Obj:
    """The workload as podman plays it: owner labels, and hostPorts for published Services."""
    out = copy.deepcopy(obj)
    tmpl = _pod_template(out)
    meta = tmpl.setdefault("metadata", {})
    labels = meta.setdefault("labels", {})
    labels.update(
        {INSTANCE_LABEL: app, OWNER_KIND: out["kind"], OWNER_NAME: out["metadata"]["name"]}
    )
    ann = meta.setdefault("annotations", {})
    ann.setdefault(
        TRACKING_ANNOTATION,
        str((out["metadata"].get("annotations") or {}).get(TRACKING_ANNOTATION, "")),
    )
    containers = (tmpl.get("spec") or {}).get("containers") or []
    for svc in others:
        if svc.get("kind") != "Service" or not _selects(svc, labels):
            continue
        if (svc.get("spec") or {}).get("type") not in ("NodePort", "LoadBalancer"):
            continue
        for port in svc["spec"].get("ports") or []:
            _publish(containers, port)
    return out


def _publish(containers: list[Obj], port: Obj) -> None:
    target = port.get("targetPort", port.get("port"))
    host = int(port.get("nodePort") or port["port"])
    for c in containers:
        for cp in c.get("ports") or []:
            if target in (cp.get("containerPort"), cp.get("name")):
                cp["hostPort"], cp["hostIP"] = host, "127.0.0.1"
                return
    if containers and isinstance(target, int):
        containers[0].setdefault("ports", []).append(
            {"containerPort": target, "hostPort": host, "hostIP": "127.0.0.1"}
        )
