"""The Kubernetes executor: a job as one Pod, its steps as execs (through cluster.kube_pods).

The Pod has a ``job`` container (the job's ``container:`` image, else the
runner image) kept alive with ``tail -f /dev/null``, and one container per
``services:`` entry; they share the Pod's network, and ``hostAliases`` map each
service id to 127.0.0.1, so ``postgres:5432`` works as on GitHub. The run
directory is mounted at the same path from a volume: a ``hostPath`` (default:
the fake, single-node clusters, a controller on the node) or a
PersistentVolumeClaim (``RunInfo.kube['pvc']`` or ``$SHIPWAY_CI_KUBE_PVC``)
that the controller mounts at the same path (``pvc_path``, default the
directory holding the run directories), so runner files and the workspace
are read on this side after each step. With a hostPath, the host's node
directory is mounted too, as the podman executor does (JavaScript actions).

Docker ``options`` of services and the job container become container fields
(``ci.plan.svcopts``: ``--health-*`` a readinessProbe waited for before the
first step by ``ci.services``, ``-e``, ``--entrypoint``, ``--user``,
``--workdir``, ``--cpus``, ``--memory``, ``--privileged``; others are logged as
not used); service ``volumes`` become hostPath (``host:path``) or emptyDir (a
bare path) volumes. A Pod template (``RunInfo.kube['pod_template']``, a file
or a mapping, else ``$SHIPWAY_CI_KUBE_POD_TEMPLATE``) is merged into every Pod
(``ci.plan.podtemplate``).

Kubernetes exec has no environment or working directory, so each step is
``sh -c`` that records its pid, sources an environment file written to the
shared volume (removed at once: secrets never go into the exec URL), changes
directory and ``exec``s the step's argv. A timeout or cancel closes the stream
and kills the step's process tree through a second exec. A Docker container
action runs as a Pod of its own (``run_action_pod``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.ci.exec.health import wait_kube
from shipway.ci.expr.values import from_json_value, to_str
from shipway.ci.nodejs import NODE_MOUNT, host_node_dir
from shipway.ci.plan.podtemplate import check_template, load_template, merge_template
from shipway.ci.plan.svcopts import HealthCheck, OptionsError, kube_container, parse_options
from shipway.cluster.kube_pods import KubePods
from shipway.model.errors import CIError, InputError
from shipway.runtime.host import Cancel, Result
from shipway.runtime.podman_exec import KEEPALIVE

if TYPE_CHECKING:
    from shipway.ci.job import JobRun

JOB = "job"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_WRAP = 'echo $$ > "$1"; . "$2"; rm -f "$2"; cd "$3" || exit 1; shift 3; exec "$@"'
_KILL = (
    't() { kill -STOP "$1" 2>/dev/null; for d in /proc/[0-9]*; do p=; '
    '{ while read -r k v; do [ "$k" = PPid: ] && p=$v && break; done < "$d/status"; } '
    '2>/dev/null; [ "$p" = "$1" ] && t "${d#/proc/}"; done; kill -KILL "$1" 2>/dev/null; }; '
    '[ -s "$1" ] && t "$(cat "$1")"; rm -f "$1"'
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class KubePod:
    """The job sandbox on Kubernetes (see ``container.Sandbox``)."""

    pods: KubePods
    name: str
    files: Path  # per-job directory on the shared volume: env and pid files
    cid: str | None = None
    network: str | None = None
    services: dict[str, Any] = field(default_factory=dict)
    path: str = DEFAULT_PATH
    has_bash: bool = False
    execs: int = 0

    def which(self, program: str) -> bool:
        return program == "sh" or (program == "bash" and self.has_bash)

    def exec(self, argv: list[str], cwd: str, env: dict[str, str],
             on_line: Callable[[str], None], timeout: float, cancel: Cancel) -> Result:  # fmt: skip
        """Run one step process in the ``job`` container, its lines to ``on_line``."""
        self.execs += 1
        envfile = self.files / f"kube-env-{self.execs}.sh"
        pidfile = self.files / f"kube-pid-{self.execs}"
        fd = os.open(envfile, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(env_script(env))
        try:
            status = self.pods.exec(self.name, JOB, ["sh", "-c", _WRAP, "sh", str(pidfile),
                                                     str(envfile), cwd, *argv],
                                    on_line, timeout, cancel.event)  # fmt: skip
        finally:
            envfile.unlink(missing_ok=True)
        if status is None:
            self.kill(pidfile)
            cancelled = cancel.event.is_set()
            return Result(-1, timed_out=not cancelled, cancelled=cancelled)
        pidfile.unlink(missing_ok=True)
        return Result(status)

    def kill(self, pidfile: Path) -> None:
        """Stop a step's process tree (closing an exec stream does not)."""
        with contextlib.suppress(CIError):
            self.pods.exec(self.name, JOB, ["sh", "-c", _KILL, "sh", str(pidfile)],
                           lambda _line: None, 30, Cancel().event)  # fmt: skip

    def capture(self, argv: list[str]) -> tuple[int | None, str]:
        lines: list[str] = []
        status = self.pods.exec(self.name, JOB, argv, lines.append, 60, Cancel().event)
        return status, "\n".join(lines).strip()


def env_script(env: dict[str, str]) -> str:
    """``export`` lines for sh (names sh cannot hold are left out, as a shell would)."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if _NAME.match(k))


def dns_name(text: str, limit: int = 63) -> str:
    """A DNS-1123 label from ``text`` (a hash keeps long or mangled names unique)."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
    if name != text or len(name) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        name = f"{name[: limit - 9].rstrip('-')}-{digest}"
    return name


def _label(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63].strip("-_.")
    return value or "x"


def _env_list(value: Any) -> list[dict[str, str]]:
    return [{"name": str(k), "value": to_str(from_json_value(v))}
            for k, v in (value or {}).items()]  # fmt: skip


def _settings(job: JobRun) -> dict[str, Any]:
    settings = dict(getattr(job.rs.info, "kube", None) or {})
    if not settings.get("pvc") and os.environ.get("SHIPWAY_CI_KUBE_PVC"):
        settings["pvc"] = os.environ["SHIPWAY_CI_KUBE_PVC"]
    if not settings.get("namespace") and os.environ.get("SHIPWAY_CI_KUBE_NAMESPACE"):
        settings["namespace"] = os.environ["SHIPWAY_CI_KUBE_NAMESPACE"]
    return settings


def _volumes(job: JobRun, settings: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(volumes, the job container's mounts): the run directory at the same path."""
    info = job.rs.info
    base = Path(os.path.abspath(info.base_dir))
    if settings.get("pvc"):
        root = Path(os.path.abspath(str(settings.get("pvc_path") or base.parent)))
        if not base.is_relative_to(root):
            raise InputError(f"the run directory {base} is not under the PVC mount path {root}",
                             subject=f"PersistentVolumeClaim/{settings['pvc']}")  # fmt: skip
        claim = {"claimName": str(settings["pvc"])}
        return ([{"name": "work", "persistentVolumeClaim": claim}],
                [{"name": "work", "mountPath": str(root)}])  # fmt: skip
    paths = [base]
    for extra in (info.action_cache, info.artifacts):
        if extra is not None and extra.is_dir() and not extra.resolve().is_relative_to(base):
            paths.append(Path(os.path.abspath(extra)))
    vols = [{"name": f"work-{i}", "hostPath": {"path": str(p.resolve()), "type": "Directory"}}
            for i, p in enumerate(paths)]  # fmt: skip
    mounts: list[Any] = [{"name": f"work-{i}", "mountPath": str(p)} for i, p in enumerate(paths)]
    node = host_node_dir()  # JavaScript actions in images without node (ci.nodejs)
    if node:
        vols.append({"name": "node", "hostPath": {"path": node, "type": "Directory"}})
        mounts.append({"name": "node", "mountPath": NODE_MOUNT, "readOnly": True})
    return vols, mounts


def _options(job: JobRun, who: str, spec: dict[str, Any], *, is_job: bool = False,
             ) -> tuple[dict[str, Any], HealthCheck | None]:  # fmt: skip
    """The container fields of ``spec``'s ``options`` and its health check; logs the options
    not used on Kubernetes."""
    try:
        opts = parse_options(to_str(from_json_value(spec.get("options") or "")))
        fields, unused = kube_container(opts, job=is_job)
    except OptionsError as exc:
        raise InputError(f"{who}: options: {exc}", subject=job.job.where) from None
    if unused:
        job.log(f"{who}: options not used on Kubernetes: {', '.join(unused)}")
    return fields, opts.health


def _with_options(container: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    env = {e["name"]: e for e in container.get("env") or []}
    env.update({e["name"]: e for e in fields.pop("env", [])})
    return {**container, **fields, "env": list(env.values())}


def _service(job: JobRun, sid: str, spec: dict[str, Any]) -> tuple[Any, list[Any], Any]:
    """(the service's container, its volumes, its health check or ``None``)."""
    image = str(spec.get("image") or "")
    if not image:
        raise InputError(f"service {sid!r} has no image", subject=job.job.where)
    ports = []
    for port in spec.get("ports") or []:
        inner = to_str(from_json_value(port)).split(":")[-1].split("/")[0]
        if inner.isdigit():
            ports.append({"containerPort": int(inner)})
    name = dns_name(f"svc-{sid}")
    volumes, mounts = [], []
    for i, text in enumerate(spec.get("volumes") or []):
        parts = to_str(from_json_value(text)).split(":")
        vol = dns_name(f"{name}-vol-{i}")
        host = {"path": os.path.abspath(parts[0])}
        volumes.append({"name": vol, "emptyDir": {}} if len(parts) == 1  # a bare path
                       else {"name": vol, "hostPath": host})  # fmt: skip
        mount = {"name": vol, "mountPath": parts[min(1, len(parts) - 1)]}
        mounts.append({**mount, "readOnly": True} if parts[2:3] == ["ro"] else mount)
    fields, health = _options(job, f"Service {sid}", spec)
    container = {"name": name, "image": image, "env": _env_list(spec.get("env")), "ports": ports}
    if mounts:
        container["volumeMounts"] = mounts
    return _with_options(container, fields), volumes, health


def _registry(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "https://index.docker.io/v1/"


def _pull_auths(image: str, spec: dict[str, Any],
                services: dict[str, dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """``credentials:`` of the job container and services, as a dockerconfigjson ``auths``."""
    auths: dict[str, Any] = {}
    for ref, s in [(image, spec), *((str(v.get("image") or ""), v) for v in services.values())]:
        creds = s.get("credentials") or {}
        if creds.get("username"):
            user, word = (
                to_str(from_json_value(creds.get(k, ""))) for k in ("username", "password")
            )
            token = f"{user}:{word}"
            auths[_registry(ref)] = {"auth": base64.b64encode(token.encode()).decode()}
    return auths


def _labels(job: JobRun) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "shipway",
            "shipway.dev/ci-run": _label(job.rs.info.run_id),
            "shipway.dev/ci-job": _label(job.job.id)}  # fmt: skip


def pod_body(job: JobRun, name: str, image: str, spec: dict[str, Any],
             services: dict[str, dict[str, Any]], settings: dict[str, Any],
             ) -> tuple[Any, dict[str, tuple[str, HealthCheck]]]:  # fmt: skip
    """The Pod of one job run, and the health checks of its services (id -> (container,
    check)) to wait for."""
    volumes, mounts = _volumes(job, settings)
    main = {"name": JOB, "image": image, "command": list(KEEPALIVE),
            "env": _env_list(spec.get("env")), "workingDir": os.path.abspath(job.workspace),
            "volumeMounts": mounts}  # fmt: skip
    main = _with_options(main, _options(job, "Job container", spec, is_job=True)[0])
    containers, checks = [main], {}
    for sid, sspec in services.items():
        container, extra, health = _service(job, sid, sspec)
        containers.append(container)
        volumes += extra
        if health is not None:
            checks[sid] = (container["name"], health)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": _labels(job)},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            # the job's timeout bounds the Pod even if this process dies and never deletes it
            "activeDeadlineSeconds": int(job.remaining()) + 300,
            "containers": containers,
            "volumes": volumes,
        },
    }
    if _pull_auths(image, spec, services):
        body["spec"]["imagePullSecrets"] = [{"name": f"{name}-pull"}]
    if services:
        body["spec"]["hostAliases"] = [{"ip": "127.0.0.1", "hostnames": sorted(services)}]
    template = pod_template(settings)
    return (merge_template(body, template) if template else body), checks


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


@contextmanager
def pod_session(job: JobRun, image: str, spec: dict[str, Any],
                services: dict[str, dict[str, Any]]) -> Iterator[KubePod]:  # fmt: skip
    """Create the job's Pod, wait until it runs, yield it; delete it at the end."""
    settings = _settings(job)
    pods = KubePods(settings)
    name = dns_name(f"shipway-{job.rs.info.run_id}-{job.key}")
    pod = KubePod(pods, name, job.files, cid=name)
    body, checks = pod_body(job, name, image, spec, services, settings)
    timeout = float(settings.get("pod_timeout") or os.environ.get("SHIPWAY_CI_KUBE_TIMEOUT") or 300)
    job.log(f"Starting pod {pods.namespace}/{name} ({image}"
            + "".join(f", {s}" for s in services) + ")")  # fmt: skip
    auths = _pull_auths(image, spec, services)
    try:
        if auths:  # registry credentials as an image pull Secret, deleted with the Pod
            config = json.dumps({"auths": auths})
            pods.create_secret(f"{name}-pull", {".dockerconfigjson": config}, _labels(job),
                               "kubernetes.io/dockerconfigjson")  # fmt: skip
        pods.create(body)
        pods.wait_running(name, timeout, job.cancel.event)
        wait_kube(job, pods, name, checks)
        for sid, sspec in services.items():
            ports = [to_str(from_json_value(p)).split(":")[-1].split("/")[0]
                     for p in sspec.get("ports") or []]  # fmt: skip
            pod.services[sid] = {"id": f"{name}/{dns_name(f'svc-{sid}')}", "network": "",
                                 "ports": {p: p for p in ports}}  # fmt: skip
        _, out = pod.capture(["sh", "-c", 'printf "%s\\n" "$PATH"; command -v bash || true'])
        found = out.splitlines()
        pod.path = found[0] if found and found[0] else DEFAULT_PATH
        pod.has_bash = len(found) > 1 and found[1].startswith("/")
        yield pod
    finally:
        _clean_up(job, pods, name, f"{name}-pull" if auths else None)


def _clean_up(job: JobRun, pods: KubePods, name: str, secret: str | None) -> None:
    """Delete the Pod and its Secret (a failure is a warning: the job's result stands)."""
    for what, delete in ((name, pods.delete), (secret, pods.delete_secret)):
        try:
            if what:
                delete(what)
        except CIError as exc:
            job.log(f"::warning::{exc}")
    pods.close()


def run_action_pod(job: JobRun, image: str, args: list[str], env: dict[str, str],
                   entrypoint: str | None, timeout: float) -> str:  # fmt: skip
    """A Docker container action as its own Pod (environment from a Secret, the run directory
    mounted as for the job); its log goes through the job's output parser when it ends."""
    from shipway.ci.job import OutputParser

    settings = _settings(job)
    pods = KubePods(settings)
    name = dns_name(f"shipway-{job.rs.info.run_id}-{job.key}-action-{len(job.results)}")
    volumes, mounts = _volumes(job, settings)
    action = {"name": "action", "image": image, "args": args, "volumeMounts": mounts,
              "workingDir": os.path.abspath(job.workspace),
              "envFrom": [{"secretRef": {"name": f"{name}-env"}}]}  # fmt: skip
    if entrypoint:
        action["command"] = [entrypoint]
    spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [action],
            "volumes": volumes, "activeDeadlineSeconds": int(timeout) + 300}  # fmt: skip
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": _labels(job)},
            "spec": spec}  # fmt: skip
    template = pod_template(settings)
    if template:
        body = merge_template(body, template, main="action", sidecars=False)
    job.log(f"Starting pod {pods.namespace}/{name} ({image})")
    try:
        pods.create_secret(f"{name}-env", env, _labels(job))
        pods.create(body)
        code = pods.wait_exit(name, "action", timeout, job.cancel.event)
        parser = OutputParser(job)
        for line in pods.logs(name, "action").splitlines():
            parser.line(line)
    finally:
        _clean_up(job, pods, name, f"{name}-env")
    if code is None and job.cancel.event.is_set():
        return "cancelled"
    if code is None:
        job.log("::error::The step exceeded its timeout and was cancelled.")
        return "failure"
    if code != 0:
        job.log(f"::error::Process completed with exit code {code}.")
        return "failure"
    return "success"
