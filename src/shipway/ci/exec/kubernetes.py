"""The Kubernetes executor: a job session as one Pod, its steps as execs (``cluster.kube_pods``).

Implements ``ci.exec.base.Session``. The Pod ``shipway-ci-<run>-<job>`` (a
DNS label) has a ``job`` container (``SessionSpec.image``, required: Kubernetes
has no host to run image-less steps on) kept alive with ``tail -f /dev/null``,
and one container per service; they share the Pod's network, and
``hostAliases`` map every service host name to 127.0.0.1, so ``postgres:5432``
works as on a podman network. Mounts are volumes at their targets: a
``hostPath`` each (default: the fake, single-node clusters, the controller on
the node) or one PersistentVolumeClaim (``kube['pvc']`` or
``$SHIPWAY_CI_KUBE_PVC``) the controller mounts at ``pvc_path`` (default the
directory holding the first mount); mounts under it use ``subPath``, others
are not mounted (said in the log). The scratch directory must be seen at its
own path (it holds the env and pid files of each exec).

Docker ``options`` of services and the job container become container fields
(``ci.plan.svcopts``: ``--health-*`` a readinessProbe waited for before the
first step by ``ci.exec.health``, ``-e``, ``--entrypoint``, ``--user``,
``--workdir``, ``--cpus``, ``--memory``, ``--privileged``; others are logged as
not used); service ``volumes`` become hostPath (``host:path``) or emptyDir (a
bare path) volumes. A Pod template (``kube['pod_template']``, a file or a
mapping, else ``$SHIPWAY_CI_KUBE_POD_TEMPLATE``) is merged into every Pod
(``ci.plan.podtemplate``).

Kubernetes exec has no environment or working directory, so each step is
``sh -c`` that records its pid, sources an environment file written to the
scratch directory (removed at once: secrets never go into the exec URL),
changes directory and ``exec``s the step's argv. A timeout or cancel closes the
stream and kills the step's process tree through a second exec. A step with
an image of its own runs as a Pod of its own (``...-step-<n>``, environment
from a Secret, the same volumes); its log reaches ``on_line`` when it ends.
Step containers (``SessionSpec.containers``, Tekton's steps) are containers of
the same Pod kept alive like the job container; a step naming one (with an
entrypoint: the image's own is not known here) is exec-ed in it the same way,
and without a job image the first of them answers ``capture``.
Touches only the Pods and Secrets it creates. Knows no CI syntax.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shlex
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from shipway.ci.exec import host
from shipway.ci.exec.base import (
    DEFAULT_PATH,
    Cancel,
    Credentials,
    ExecutorConfig,
    Service,
    ServiceInfo,
    SessionSpec,
    StepOutcome,
    StepSpec,
    dns_name,
    opened,
    resource_prefix,
    step_argv,
)
from shipway.ci.exec.health import wait_kube
from shipway.ci.plan.podtemplate import check_template, load_template, merge_template
from shipway.ci.plan.svcopts import HealthCheck, OptionsError, kube_container, parse_options
from shipway.cluster.kube_pods import KubePods
from shipway.model.errors import CIError, InputError
from shipway.runtime.podman_exec import KEEPALIVE, Podman

JOB = "job"
_WRAP = 'echo $$ > "$1"; . "$2"; rm -f "$2"; cd "$3" || exit 1; shift 3; exec "$@"'
_KILL = (
    't() { kill -STOP "$1" 2>/dev/null; for d in /proc/[0-9]*; do p=; '
    '{ while read -r k v; do [ "$k" = PPid: ] && p=$v && break; done < "$d/status"; } '
    '2>/dev/null; [ "$p" = "$1" ] && t "${d#/proc/}"; done; kill -KILL "$1" 2>/dev/null; }; '
    '[ -s "$1" ] && t "$(cat "$1")"; rm -f "$1"'
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_script(env: dict[str, str]) -> str:
    """``export`` lines for sh (names sh cannot hold are left out, as a shell would)."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if _NAME.match(k))


def _label(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63].strip("-_.")
    return value or "x"


def _env_list(env: Any) -> list[dict[str, str]]:
    return [{"name": str(k), "value": str(v)} for k, v in dict(env or {}).items()]


def settings_of(config: ExecutorConfig) -> dict[str, Any]:
    settings = dict(config.kube)
    for key, var in (("pvc", "SHIPWAY_CI_KUBE_PVC"), ("namespace", "SHIPWAY_CI_KUBE_NAMESPACE")):
        if not settings.get(key) and os.environ.get(var):
            settings[key] = os.environ[var]
    return settings


def pod_template(settings: dict[str, Any]) -> dict[str, Any] | None:
    """The Pod template of the settings (a file path or a mapping), else
    ``$SHIPWAY_CI_KUBE_POD_TEMPLATE``; ``InputError`` with file:line when it is bad."""
    given = settings.get("pod_template") or os.environ.get("SHIPWAY_CI_KUBE_POD_TEMPLATE")
    if not given:
        return None
    if isinstance(given, dict):
        check_template(given)
        return given
    try:
        text = Path(str(given)).read_text()
    except OSError as exc:
        raise InputError(
            f"cannot read the pod template: {exc.strerror}", subject=str(given)
        ) from None
    return load_template(text, str(given))


def _registry(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "https://index.docker.io/v1/"


class KubeSession:
    """The job's Pod (see the module docstring)."""

    def __init__(self, spec: SessionSpec, config: ExecutorConfig) -> None:
        if not spec.image and not spec.containers:
            raise InputError("the kubernetes executor needs a job image to run steps in",
                             subject=spec.where or f"job {spec.job}")  # fmt: skip
        self.spec, self.config = spec, config
        # where execs without a step container of their own run: the job container, else
        # the first step container (a Tekton TaskRun's Pod has no job container)
        self.steps = {n: dns_name(n) for n in spec.containers}
        self.main = JOB if spec.image else self.steps[next(iter(spec.containers))]
        self.settings = settings_of(config)
        self.pods = KubePods(self.settings)
        self.name = dns_name(resource_prefix(spec.run_id, spec.job))
        self.cid: str | None = self.name
        self.network: str | None = None
        self.services: dict[str, ServiceInfo] = {}
        self.path = DEFAULT_PATH
        self.has_bash = False
        self.execs = 0
        self.step_pods = 0
        self.files = Path(spec.scratch or ".")
        self.secrets: list[str] = []

    # -- the Pod ------------------------------------------------------------------
    def labels(self) -> dict[str, str]:
        given = {k: _label(v) for k, v in self.spec.labels.items()}
        return {"app.kubernetes.io/managed-by": "shipway",
                "shipway.dev/ci-run": _label(self.spec.run_id),
                "shipway.dev/ci-job": _label(self.spec.job), **given}  # fmt: skip

    def volumes(self) -> tuple[list[Any], list[Any]]:
        """(volumes, mounts): every mount, and the scratch directory at its own path."""
        spec = self.spec
        mounts = [(os.path.abspath(m.source), m.target, m.read_only) for m in spec.mounts]
        if spec.scratch and not any(Path(spec.scratch).is_relative_to(s) and s == t
                                    for s, t, _ in mounts):  # fmt: skip
            mounts.append((os.path.abspath(spec.scratch), os.path.abspath(spec.scratch), False))
        if self.settings.get("pvc"):
            return self._claim(mounts)
        vols: list[Any] = []
        out: list[Any] = []
        for i, (src, dst, ro) in enumerate(mounts):
            where = {"path": str(Path(src).resolve()), "type": "Directory"}
            vols.append({"name": f"work-{i}", "hostPath": where})
            mount = {"name": f"work-{i}", "mountPath": dst}
            out.append({**mount, "readOnly": True} if ro else mount)
        return vols, out

    def _claim(self, mounts: list[tuple[str, str, bool]]) -> tuple[list[Any], list[Any]]:
        first = Path(mounts[0][0]) if mounts else Path("/")
        root = Path(os.path.abspath(str(self.settings.get("pvc_path") or first.parent)))
        claim = {"name": "work", "persistentVolumeClaim": {"claimName": str(self.settings["pvc"])}}
        if not first.is_relative_to(root):
            raise InputError(f"the run directory {first} is not under the PVC mount path {root}",
                             subject=f"PersistentVolumeClaim/{self.settings['pvc']}")  # fmt: skip
        kept = []
        for src, dst, ro in mounts:
            if Path(src).is_relative_to(root):
                kept.append((src, dst, ro))
            else:
                self.spec.log(f"{src} is not on the PVC ({root}): not mounted")
        if all(s == d for s, d, _ in kept):
            return [claim], [{"name": "work", "mountPath": str(root)}]
        out: list[Any] = []
        for src, dst, ro in kept:
            sub = str(Path(src).relative_to(root))
            mount = {"name": "work", "mountPath": dst, "subPath": sub}
            out.append({**mount, "readOnly": True} if ro else mount)
        return [claim], out

    def _options(self, who: str, options: str, *, is_job: bool = False,
                 ) -> tuple[dict[str, Any], HealthCheck | None]:  # fmt: skip
        try:
            opts = parse_options(options)
            fields, unused = kube_container(opts, job=is_job)
        except OptionsError as exc:
            where = self.spec.where or f"job {self.spec.job}"
            raise InputError(f"{who}: options: {exc}", subject=where) from None
        if unused:
            self.spec.log(f"{who}: options not used on Kubernetes: {', '.join(unused)}")
        return fields, opts.health

    def _service(self, svc: Service) -> tuple[Any, list[Any], HealthCheck | None]:
        if not svc.image:
            raise InputError(f"service {svc.name!r} has no image",
                             subject=self.spec.where or f"service {svc.name}")  # fmt: skip
        ports = []
        for port in svc.ports:
            inner = port.split(":")[-1].split("/")[0]
            if inner.isdigit():
                ports.append({"containerPort": int(inner)})
        name = dns_name(f"svc-{svc.name}")
        volumes, mounts = [], []
        for i, text in enumerate(svc.volumes):
            parts = text.split(":")
            vol = dns_name(f"{name}-vol-{i}")
            hostpath = {"path": os.path.abspath(parts[0])}
            volumes.append({"name": vol, "emptyDir": {}} if len(parts) == 1  # a bare path
                           else {"name": vol, "hostPath": hostpath})  # fmt: skip
            mount = {"name": vol, "mountPath": parts[min(1, len(parts) - 1)]}
            mounts.append({**mount, "readOnly": True} if parts[2:3] == ["ro"] else mount)
        fields, health = self._options(f"Service {svc.name}", svc.options)
        container: dict[str, Any] = {"name": name, "image": svc.image,
                                     "env": _env_list(svc.env), "ports": ports}  # fmt: skip
        if svc.entrypoint is not None:
            container["command"] = list(svc.entrypoint)
        if svc.command:
            container["args"] = list(svc.command)
        if mounts:
            container["volumeMounts"] = mounts
        return _with_options(container, fields), volumes, health

    def pull_auths(self) -> dict[str, Any]:
        """Registry credentials of the job image and services, as dockerconfigjson ``auths``."""
        auths: dict[str, Any] = {}
        pairs: list[tuple[str, Credentials | None]] = [
            (self.spec.image or "", self.spec.image_credentials),
            *((s.image, s.credentials) for s in self.spec.services),
        ]
        for ref, creds in pairs:
            if creds is not None and creds.username:
                token = f"{creds.username}:{creds.password}".encode()
                auths[_registry(ref)] = {"auth": base64.b64encode(token).decode()}
        return auths

    def body(self) -> tuple[Any, dict[str, tuple[str, HealthCheck]]]:
        """The Pod, and its services' health checks (name -> (container, check))."""
        spec = self.spec
        volumes, mounts = self.volumes()
        containers: list[Any] = []
        if spec.image:
            main = {"name": JOB, "image": spec.image, "command": list(KEEPALIVE),
                    "env": _env_list(spec.image_env), "workingDir": spec.workdir or "/",
                    "volumeMounts": mounts}  # fmt: skip
            containers.append(_with_options(main, self._options(
                "Job container", spec.image_options, is_job=True)[0]))  # fmt: skip
        for name, image in spec.containers.items():  # Tekton's steps: containers of the Pod
            containers.append({"name": self.steps[name], "image": image,
                               "command": list(KEEPALIVE), "workingDir": spec.workdir or "/",
                               "volumeMounts": mounts})  # fmt: skip
        checks = {}
        for svc in spec.services:
            container, extra, health = self._service(svc)
            containers.append(container)
            volumes += extra
            if health is not None:
                checks[svc.name] = (container["name"], health)
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": self.name, "labels": self.labels()},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 1,
                # the session's bound, even if this process dies and never deletes the Pod
                "activeDeadlineSeconds": int(spec.timeout) + 300,
                "containers": containers,
                "volumes": volumes,
            },
        }
        if self.pull_auths():
            body["spec"]["imagePullSecrets"] = [{"name": f"{self.name}-pull"}]
        hostnames = sorted({h for s in spec.services for h in s.hostnames})
        if hostnames:
            body["spec"]["hostAliases"] = [{"ip": "127.0.0.1", "hostnames": hostnames}]
        template = pod_template(self.settings)
        return (merge_template(body, template, main=self.main) if template else body), checks

    def open(self) -> None:
        spec = self.spec
        body, checks = self.body()
        timeout = float(self.settings.get("pod_timeout")
                        or os.environ.get("SHIPWAY_CI_KUBE_TIMEOUT") or 300)  # fmt: skip
        shown = [spec.image] if spec.image else list(self.steps.values())
        spec.log(f"Starting pod {self.pods.namespace}/{self.name} ({', '.join(shown)}"
                 + "".join(f", {s.name}" for s in spec.services) + ")")  # fmt: skip
        auths = self.pull_auths()
        if auths:  # registry credentials as an image pull Secret, deleted with the Pod
            self.secrets.append(f"{self.name}-pull")
            self.pods.create_secret(f"{self.name}-pull",
                                    {".dockerconfigjson": json.dumps({"auths": auths})},
                                    self.labels(), "kubernetes.io/dockerconfigjson")  # fmt: skip
        self.pods.create(body)
        self.pods.wait_running(self.name, timeout, spec.cancel.event)
        wait_kube(spec, self.pods, self.name, checks)
        for svc in spec.services:
            ports = [p.split(":")[-1].split("/")[0] for p in svc.ports]
            self.services[svc.name] = ServiceInfo(f"{self.name}/{dns_name(f'svc-{svc.name}')}",
                                                  "", {p: p for p in ports})  # fmt: skip
        _, out = self._exec_capture(["sh", "-c", 'printf "%s\\n" "$PATH"; command -v bash || true'])
        found = out.splitlines()
        self.path = found[0] if found and found[0] else DEFAULT_PATH
        self.has_bash = len(found) > 1 and found[1].startswith("/")

    def close(self) -> None:
        """Delete the Pod and its Secrets (a failure is logged: the job's result stands)."""
        for what, delete in [(self.name, self.pods.delete),
                             *((s, self.pods.delete_secret) for s in self.secrets)]:  # fmt: skip
            try:
                delete(what)
            except CIError as exc:
                self.spec.log(f"::warning::{exc}")
        self.pods.close()

    # -- steps ------------------------------------------------------------------
    def which(self, program: str) -> bool:
        return program == "sh" or (program == "bash" and self.has_bash)

    def run(self, step: StepSpec) -> StepOutcome:
        argv = step_argv(step, self.spec.scratch)
        cancel = step.cancel or self.spec.cancel
        container = self.main
        if step.image and step.container in self.steps and step.entrypoint is not None:
            container, argv = self.steps[step.container], [step.entrypoint, *argv]
        elif step.image:  # the image's own entrypoint is known to its Pod only
            return self._step_pod(step, argv, cancel)
        elif step.on_host:
            return host.run_argv(argv, step.cwd, step.env, step, cancel)
        self.execs += 1
        envfile = self.files / f"kube-env-{self.execs}.sh"
        pidfile = self.files / f"kube-pid-{self.execs}"
        fd = os.open(envfile, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(env_script(dict(step.env)))
        try:
            status = self.pods.exec(self.name, container,
                                    ["sh", "-c", _WRAP, "sh", str(pidfile), str(envfile),
                                     step.cwd or ".", *argv],
                                    step.on_line, max(step.timeout, 0.001),
                                    cancel.event)  # fmt: skip
        finally:
            envfile.unlink(missing_ok=True)
        if status is None:
            self._kill(pidfile, container)
            cancelled = cancel.event.is_set()
            return StepOutcome(-1, timed_out=not cancelled, cancelled=cancelled)
        pidfile.unlink(missing_ok=True)
        return StepOutcome(status)

    def _kill(self, pidfile: Path, container: str) -> None:
        """Stop a step's process tree (closing an exec stream does not)."""
        with contextlib.suppress(CIError):
            self.pods.exec(self.name, container, ["sh", "-c", _KILL, "sh", str(pidfile)],
                           lambda _line: None, 30, Cancel().event)  # fmt: skip

    def _exec_capture(self, argv: Sequence[str], timeout: float = 60) -> tuple[int, str]:
        lines: list[str] = []
        status = self.pods.exec(self.name, self.main, list(argv), lines.append, timeout,
                                Cancel().event)  # fmt: skip
        return (-1 if status is None else status), "\n".join(lines).strip()

    def capture(self, argv: Sequence[str], timeout: float = 60.0) -> tuple[int, str]:
        lines: list[str] = []
        out = self.run(StepSpec(argv=argv, env={"PATH": self.path}, timeout=timeout,
                                cwd=self.spec.workdir or "/", on_line=lines.append,
                                cancel=Cancel()))  # fmt: skip
        return out.exit_code, "\n".join(lines).strip()

    def build(self, context: str, tag: str) -> None:
        """Build with podman here (the single-node clusters share its store)."""
        Podman(dict(self.config.podman_env), self.name).build(context, tag)

    def _step_pod(self, step: StepSpec, argv: list[str], cancel: Cancel) -> StepOutcome:
        self.step_pods += 1
        name = dns_name(f"{self.name}-step-{self.step_pods}")
        volumes, mounts = self.volumes()
        ctr: dict[str, Any] = {"name": "step", "image": step.image, "args": argv,
                               "volumeMounts": mounts,
                               "envFrom": [{"secretRef": {"name": f"{name}-env"}}]}  # fmt: skip
        if step.cwd:
            ctr["workingDir"] = step.cwd
        if step.entrypoint:
            ctr["command"] = [step.entrypoint]
        pod_spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                    "containers": [ctr], "volumes": volumes,
                    "activeDeadlineSeconds": int(step.timeout) + 300}  # fmt: skip
        hostnames = sorted({h for s in self.spec.services for h in s.hostnames})
        ip = str((self.pods.get(self.name).get("status") or {}).get("podIP") or "")
        if hostnames and ip:  # the services live in the job's Pod
            pod_spec["hostAliases"] = [{"ip": ip, "hostnames": hostnames}]
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": name, "labels": self.labels()},
                                "spec": pod_spec}  # fmt: skip
        template = pod_template(self.settings)
        if template:
            body = merge_template(body, template, main="step", sidecars=False)
        self.spec.log(f"Starting pod {self.pods.namespace}/{name} ({step.image})")
        try:
            self.pods.create_secret(f"{name}-env", dict(step.env), self.labels())
            self.pods.create(body)
            code = self.pods.wait_exit(name, "step", max(step.timeout, 0.001), cancel.event)
            for line in self.pods.logs(name, "step").splitlines():
                step.on_line(line)
        finally:
            for what, delete in ((name, self.pods.delete),
                                 (f"{name}-env", self.pods.delete_secret)):  # fmt: skip
                try:
                    delete(what)
                except CIError as exc:
                    self.spec.log(f"::warning::{exc}")
        if code is None:
            cancelled = cancel.event.is_set()
            return StepOutcome(-1, timed_out=not cancelled, cancelled=cancelled)
        return StepOutcome(code)


def _with_options(container: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    env = {e["name"]: e for e in container.get("env") or []}
    env.update({e["name"]: e for e in fields.pop("env", [])})
    return {**container, **fields, "env": list(env.values())}


def session(spec: SessionSpec, config: ExecutorConfig) -> AbstractContextManager[KubeSession]:
    """Create the job's Pod, wait until it runs, yield it; delete it at the end."""
    return opened(KubeSession(spec, config))
