"""The podman host target: rendered manifests run for real with ``podman kube play``.

The built-in cluster ``local``. The caller hands in the podman environment
(``shipway.runtime.podman_env`` under ``$SHIPWAY_HOME/podman``: its own
storage, run root, tmp dir and network configs).

Kinds (``podman_kinds``): Deployment, StatefulSet, DaemonSet, Job and Pod run
as pods named from their namespace and name; ConfigMap (passed to every play
of the app's workloads), Secret (a podman secret), PersistentVolumeClaim (a
podman volume), Service, Namespace (kept as records), CronJob (recorded; its
Jobs are started by the controller's tick, ``podman_cron``). Ingress and
unknown kinds are refused for the whole application before anything of it
is applied (``check``). The target keeps the last applied manifest of each
object under ``$SHIPWAY_HOME/podman/objects/<app>.json`` (written before the
play, so an interrupted play is finished or undone by the next sync), and
podman's error text from an object's last failed play in ``<app>.errors.json``;
live state of workloads is read from podman itself (``podman_live``).

Services: a ``NodePort`` or ``LoadBalancer`` Service publishes its port on
127.0.0.1 only (``nodePort`` if set, else ``port``) to the pods it selects;
before a play, every host port is checked free (``podman_ports``), so a
collision names the port and what holds it instead of leaving half-started
pods.

Each object is played on its own (``kube play --replace`` of its pods only): a
change to a ConfigMap, Secret or Service replays only the long-running
workloads that use it, never a Job or a hook, so a hook runs once per sync.
Pods labelled with the app whose object is not recorded (an interrupted or
lost play) are removed by the next ``apply`` or ``delete``; a play that times
out removes the pods it started. The listing of an app's pods its comparison
(``live``) took serves the sync's next ``apply`` if it is under ``FRESH`` seconds
old, so a sync lists pods twice (before and after), not three times. Only this
module runs ``podman`` for the reconciler; it touches ``$SHIPWAY_HOME/podman``
and the pods, volumes and secrets it labels or names.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from shipway.cluster import INSTANCE_LABEL, Result
from shipway.cluster import last_applied as last_mod
from shipway.cluster import podman_cron as cron
from shipway.cluster import podman_ingress as ingress
from shipway.cluster import podman_kinds as kinds
from shipway.cluster import podman_live as live_mod
from shipway.cluster import podman_ports as ports
from shipway.model.errors import ClusterError
from shipway.settings import Settings

WORKLOADS = kinds.WORKLOADS
KINDS = kinds.KINDS
TIMEOUT = 180.0
GRACE = 30  # Kubernetes' default terminationGracePeriodSeconds
FRESH = 2.0  # seconds a listing of an app's pods taken by ``live`` serves the next ``apply``
_NOISE = ("failed to connect to syslog",)

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
        self._seen: dict[tuple[str, int], tuple[float, live_mod.Pods]] = {}

    # -- plumbing ---------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        if self._env is None:
            self._env = {**os.environ, **self._podman_env}
            if self.url:
                self._env["CONTAINER_HOST"] = self.url
        return self._env

    def podman(
        self, *args: str, subject: str = "podman", check: bool = True, timeout: float | None = None
    ) -> str:
        limit = TIMEOUT if timeout is None else timeout
        try:
            proc = subprocess.run(
                ["podman", *args],
                capture_output=True,
                text=True,
                env=self.env,
                timeout=limit,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(
                f"podman {' '.join(args[:2])} timed out after {limit:.0f}s", subject=subject
            ) from exc
        except OSError as exc:
            raise ClusterError(f"cannot run podman: {exc}", subject=subject) from exc
        if check and proc.returncode != 0:
            raise ClusterError(
                f"podman {' '.join(args[:2])} failed (exit {proc.returncode}): "
                f"{error_text(proc.stderr, proc.stdout)}",
                subject=subject,
            )
        return proc.stdout

    def _file(self, app: str, suffix: str = "") -> Path:
        return self.base / "objects" / f"{app}{suffix}.json"

    def records(self, app: str) -> dict[str, Obj]:
        """The last applied manifest of each object of ``app``, by key."""
        f = self._file(app)
        return dict(json.loads(f.read_text())) if f.exists() else {}

    def errors(self, app: str) -> dict[str, str]:
        """podman's error text from each object's last failed play, by key."""
        f = self._file(app, ".errors")
        return dict(json.loads(f.read_text())) if f.exists() else {}

    def _save(self, app: str, records: dict[str, Obj], errors: dict[str, str]) -> None:
        for f, data in ((self._file(app), records), (self._file(app, ".errors"), errors)):
            f.parent.mkdir(parents=True, exist_ok=True)
            tmp = f.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
            os.replace(tmp, f)

    # -- the Target interface ----------------------------------------------

    def known_kinds(self) -> None:
        """None: ``check`` refuses what podman cannot run, naming object and kind."""
        return None

    def check(self, pairs: Iterable[tuple[str, Obj]]) -> None:
        """Refuse a whole application the podman host cannot run (``InputError``)."""
        kinds.check(pairs)

    def last_applied(self, app: str) -> dict[str, Obj]:
        return last_mod.load(self.base, app)

    def live(self, app: str) -> dict[str, Obj]:
        records, errors = self.records(app), self.errors(app)
        pods = live_mod.pods(self, app)
        self._seen[(app, threading.get_ident())] = (time.monotonic(), pods)
        volumes = (
            live_mod.volumes(self)
            if any(r.get("kind") == "PersistentVolumeClaim" for r in records.values())
            else set()
        )
        out: dict[str, Obj] = {}
        for key, rec in records.items():
            obj = live_mod.live_object(rec, pods, volumes, errors.get(key, ""))
            if obj is not None and rec["kind"] == "CronJob":
                obj["status"] = cron.status(self, app, key, rec, pods)
            if obj is not None and rec["kind"] == "Ingress":
                obj["status"] = _ingress_status(ingress.proxy_port(self.base))
            if obj is not None:
                out[key] = obj
        return out

    def apply(
        self, app: str, objects: list[Obj], *, options: frozenset[str] = frozenset()
    ) -> list[Result]:
        records, errors = self.records(app), self.errors(app)
        pods = self._pods_for_apply(app)
        self._remove_orphans(app, records, pods)
        results: list[Result] = []
        changed: list[Obj] = []
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
                elif kind == "PersistentVolumeClaim" and before is None:
                    self._play([obj], subject=key, pods=[])
            except ClusterError as exc:
                results.append(Result(key, "SyncFailed", "failed", exc.message))
                continue
            records[key] = obj
            action = (
                "created" if before is None else ("unchanged" if before == obj else "configured")
            )
            if action != "unchanged" and kind in ("ConfigMap", "Secret", "Service"):
                changed.append(obj)
            results.append(Result(key, "Synced", action, f"{kind.lower()} {action}"))
        self._save(app, records, errors)
        changed += self._route(app, records, results)
        for obj in workloads:
            force = _replays_for(obj, changed)
            results.append(self._apply_workload(app, obj, records, errors, pods, force=force))
        asked = {_key(w) for w in workloads}
        for key, rec in list(records.items()):
            if key in asked or not _replays_for(rec, changed):
                continue
            replayed = self._apply_workload(app, rec, records, errors, pods, force=True)
            if replayed.status != "Synced":
                results.append(replayed)
        last_mod.record(self.base, app, objects, results)
        return results

    def _pods_for_apply(self, app: str) -> live_mod.Pods:
        """The app's pods: the listing the sync's comparison just took (``live``, at most
        ``FRESH`` seconds ago, used once: an apply changes them), else a new one. A sync
        compares then applies in one thread, so this saves a ``pod ps`` and a ``container
        inspect``; another thread's listing (a health poll) is not used."""
        self._forget(app)
        seen = self._seen.pop((app, threading.get_ident()), None)
        if seen is not None and time.monotonic() - seen[0] <= FRESH:
            return seen[1]
        return live_mod.pods(self, app)

    def _forget(self, app: str | None) -> None:
        """Drop other threads' listings of ``app`` (every app for None): it is changing."""
        me = threading.get_ident()
        for key in list(self._seen):
            if (app is None or key[0] == app) and key[1] != me:
                self._seen.pop(key, None)

    def delete(self, app: str, objects: list[Obj]) -> list[Result]:
        self._forget(app)
        self._seen.pop((app, threading.get_ident()), None)
        records, errors = self.records(app), self.errors(app)
        pods = live_mod.pods(self, app)
        results = []
        for obj in objects:
            key, kind = _key(obj), obj["kind"]
            try:
                if kind in WORKLOADS:
                    rec = records.get(key) or obj
                    self._stop(rec, pods)
                    self._remove([p["name"] for p in pods.get(kinds.owner(rec), [])], key)
                elif kind == "PersistentVolumeClaim":
                    self.podman("volume", "rm", "-f", obj["metadata"]["name"], subject=key)
                elif kind == "Secret":
                    self.podman("secret", "rm", obj["metadata"]["name"], subject=key, check=False)
                elif kind == "CronJob":
                    cron.forget(self, app, key)
            except ClusterError as exc:
                results.append(Result(key, "SyncFailed", "failed", exc.message))
                continue
            records.pop(key, None)
            errors.pop(key, None)
            results.append(Result(key, "Pruned", "deleted", "pruned"))
        self._save(app, records, errors)
        moved = self._route(app, records, results, gone=objects)
        pods = live_mod.pods(self, app)
        for rec in list(records.values()):
            if _replays_for(rec, moved):
                replayed = self._apply_workload(app, rec, records, errors, pods, force=True)
                if replayed.status != "Synced":
                    results.append(replayed)
        self._remove_orphans(app, records, live_mod.pods(self, app))
        last_mod.forget(self.base, app, results)
        return results

    def _route(
        self,
        app: str,
        records: dict[str, Obj],
        results: list[Result],
        gone: list[Obj] = (),  # type: ignore[assignment]
    ) -> list[Obj]:
        """Allocate Ingress backend ports, write the routing table, run the proxy if needed.

        Returns the Services whose published ports changed (their pods are played again).
        """
        ports, moved = ingress.allocate(self.base, app, records.values())
        services = {
            f"{kinds.namespace(o)}/{o['metadata']['name']}": o
            for o in [*gone, *records.values()]
            if o.get("kind") == "Service"
        }
        if ingress.write_routes(self.base, app, records.values(), ports):
            try:
                ingress.ensure_proxy(self.base)
            except ClusterError as exc:
                for i, r in enumerate(results):
                    if r.key.split("/")[1] == "Ingress":
                        results[i] = Result(r.key, "SyncFailed", "failed", exc.message)
        return [services[m] for m in sorted(moved) if m in services]

    def clean(self, app: str | None = None) -> list[str]:
        """Remove every pod shipway labelled (for ``app``, or all) and forget the records."""
        self._seen = {k: v for k, v in self._seen.items() if app and k[0] != app}
        label = f"{INSTANCE_LABEL}={app}" if app else INSTANCE_LABEL
        out = self.podman("pod", "ps", "-q", "--filter", f"label={label}", "--no-trunc")
        ids = out.split()
        if ids:
            self.podman("pod", "rm", "-f", "-t", "0", *ids)
        suffixes = ("", ".errors", ".cron", ".ingress")
        patterns = [f"{app}{s}.json" for s in suffixes] if app else ["*.json"]
        for pattern in patterns:
            for f in (self.base / "objects").glob(pattern):
                f.unlink()
        last_mod.clear(self.base, app)
        if app:
            ingress.write_routes(self.base, app, [], {})
        else:
            ingress.stop_proxy(self.base)
        return ids

    def reset(self) -> list[str]:
        """Remove everything this home's podman started: pods, containers, then its storage.

        Only this home's podman store is listed (its own storage and database),
        so nothing of another installation or another podman is touched.
        """
        removed = self.clean()
        ids = self.podman("ps", "-a", "-q", "--no-trunc", check=False).split()
        if ids:
            self.podman("rm", "-f", "-t", "0", *ids, check=False)
        return removed + ids

    # -- workloads ------------------------------------------------------------

    def _apply_workload(
        self,
        app: str,
        obj: Obj,
        records: dict[str, Obj],
        errors: dict[str, str],
        pods: live_mod.Pods,
        *,
        force: bool,
    ) -> Result:
        key = _key(obj)
        before = records.get(key)
        if not force and before == obj and live_mod.is_current(obj, pods):
            return Result(key, "Synced", "unchanged", f"{obj['kind'].lower()} unchanged")
        others = [r for k, r in records.items() if k != key]
        others += ingress.published(records.values(), ingress.load_ports(self.base, app))
        docs = kinds.pods(app, obj, [*others, obj])
        old = [p["name"] for p in pods.get(kinds.owner(before or obj), [])]
        try:
            ports.check_free(self, obj, kinds.host_ports(obj, [*others, obj]), set(old))
        except ClusterError as exc:
            return Result(key, "SyncFailed", "failed", exc.message)
        records[key] = obj  # recorded before the play: an interrupted play is found again
        errors.pop(key, None)
        self._save(app, records, errors)
        self._stop(before or obj, pods)
        names = [d["metadata"]["name"] for d in docs]
        try:
            self._remove([n for n in old if n not in names], key)
            config = [r for r in records.values() if r["kind"] == "ConfigMap"]
            self._play([*docs, *config], subject=key, pods=names)
        except ClusterError as exc:
            errors[key] = exc.message
            self._save(app, records, errors)
            return Result(key, "SyncFailed", "failed", exc.message)
        action = "created" if before is None else "configured"
        return Result(key, "Synced", action, f"{obj['kind'].lower()} {action}")

    def _play(self, docs: list[Obj], subject: str, pods: list[str]) -> None:
        """``kube play --replace`` of ``docs``; on a timeout, remove the ``pods`` it started."""
        self.base.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=self.base, delete=False) as fh:
            yaml.safe_dump_all(docs, fh, sort_keys=False)
        try:
            self.podman("kube", "play", "--replace", "--tls-verify=false", fh.name, subject=subject)
        except ClusterError as exc:
            if "timed out" in exc.message:
                self._remove(pods, subject)
            raise
        finally:
            os.unlink(fh.name)

    def _remove(self, pods: list[str], subject: str) -> None:
        if pods:
            self.podman("pod", "rm", "-f", "-t", "0", "--ignore", *pods, subject=subject)

    def _remove_orphans(self, app: str, records: dict[str, Obj], pods: live_mod.Pods) -> None:
        """Remove the app's pods whose object is not recorded (left by an interrupted play);
        the Jobs the app's CronJobs started are not orphans."""
        owners = {kinds.owner(r) for r in records.values() if r["kind"] in WORKLOADS}
        owners |= cron.owners(self, app)
        for owner, found in pods.items():
            if owner not in owners:
                self._remove([p["name"] for p in found], "/".join(owner))

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

    def _stop(self, obj: Obj, pods: live_mod.Pods) -> None:
        """Stop a workload's pods: SIGTERM, then SIGKILL after its
        ``terminationGracePeriodSeconds`` (Kubernetes' default ``GRACE``, not podman's 10 s).
        A process that exits on SIGTERM stops at once; one that ignores it (a container's
        PID 1 without a handler) is waited for the whole period, as on Kubernetes."""
        found = pods.get(kinds.owner(obj))
        if found:
            grace = kinds.pod_spec(obj).get("terminationGracePeriodSeconds", GRACE)
            names = [p["name"] for p in found]
            self.podman("pod", "stop", "-t", str(int(grace)), *names, check=False)


def error_text(stderr: str, stdout: str) -> str:
    """podman's whole error output (stderr, else stdout), without its syslog warning."""
    lines = [ln.rstrip() for ln in (stderr.strip() or stdout).splitlines()]
    kept = [ln for ln in lines if ln.strip() and not ln.startswith(_NOISE)]
    return "\n".join(kept) or "no error output"


def _ingress_status(port: int | None) -> Obj:
    """An Ingress served by the home's proxy: on 127.0.0.1, at its port."""
    entry: Obj = {"ip": "127.0.0.1"}
    if port:
        entry["ports"] = [{"port": port, "protocol": "TCP"}]
    return {"loadBalancer": {"ingress": [entry]}}


def _secret_as_stored(obj: Obj) -> dict[str, str]:
    """The Secret's keys → base64 values (``stringData`` folded in), the JSON podman reads."""
    data = {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    for k, v in (obj.get("stringData") or {}).items():
        data[str(k)] = base64.b64encode(str(v).encode()).decode()
    return data


def _refs(spec: Obj) -> set[tuple[str, str]]:
    """The ConfigMaps and Secrets a pod spec reads (env, envFrom, volumes)."""
    out: set[tuple[str, str]] = set()
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if (vf.get("configMapKeyRef") or {}).get("name"):
                out.add(("ConfigMap", vf["configMapKeyRef"]["name"]))
            if (vf.get("secretKeyRef") or {}).get("name"):
                out.add(("Secret", vf["secretKeyRef"]["name"]))
        for ef in c.get("envFrom") or []:
            if (ef.get("configMapRef") or {}).get("name"):
                out.add(("ConfigMap", ef["configMapRef"]["name"]))
            if (ef.get("secretRef") or {}).get("name"):
                out.add(("Secret", ef["secretRef"]["name"]))
    for v in spec.get("volumes") or []:
        sources = [v, *((v.get("projected") or {}).get("sources") or [])]
        for src in sources:
            if (src.get("configMap") or {}).get("name"):
                out.add(("ConfigMap", src["configMap"]["name"]))
            secret = src.get("secret") or {}
            if secret.get("secretName") or secret.get("name"):
                out.add(("Secret", secret.get("secretName") or secret["name"]))
    return out


def _uses(obj: Obj, ref: Obj) -> bool:
    """True when ``obj``'s pods read ConfigMap/Secret ``ref`` or Service ``ref`` selects them."""
    if kinds.namespace(obj) != kinds.namespace(ref):
        return False
    if ref["kind"] == "Service":
        return kinds.selects(ref, obj)
    return (ref["kind"], ref["metadata"]["name"]) in _refs(kinds.pod_spec(obj))


def _replays_for(rec: Obj, changed: list[Obj]) -> bool:
    """A recorded long-running workload (not a Job or hook) that uses a changed object."""
    if rec["kind"] not in WORKLOADS or rec["kind"] == "Job" or kinds.is_hook(rec):
        return False
    if kinds.restart_policy(rec) != "Always":
        return False
    return any(_uses(rec, ref) for ref in changed)
