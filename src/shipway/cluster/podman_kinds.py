"""How the podman host runs each kind: a manifest becomes the Pod documents ``kube play`` gets.

Pure (no I/O): the podman target calls ``pods`` before each play and
``check`` on a whole application before anything of it is applied.

- Deployment and StatefulSet: ``spec.replicas`` pods named
  ``<namespace>.<name>-<i>``; DaemonSet: one pod (this host is the one node);
  Job: one pod with the template's ``restartPolicy`` (Never or OnFailure) that
  runs to completion; Pod: one pod ``<namespace>.<name>``. Pod names carry the
  namespace, so one Deployment in three namespaces runs as three pods.
- Every pod carries ``app.kubernetes.io/instance`` (the application) and the
  owner labels ``shipway.dev/owner-{kind,namespace,name}``: live state, prune,
  orphan removal and ``--clean`` find pods by these labels only.
- Ports: only a port a ``NodePort``/``LoadBalancer`` Service of the same
  namespace publishes (``nodePort``, else ``port``) or an explicit ``hostPort``
  is published, and always on 127.0.0.1. Every other ``containerPort`` is
  dropped from the played pod: podman 4 publishes a bare ``containerPort`` on
  0.0.0.0.
- CronJob: recorded; the controller's tick runs its Jobs (``podman_cron``);
  ``check`` refuses a bad schedule or ``concurrencyPolicy``.
- Ingress: recorded and served by the home's ingress proxy (``podman_ingress``);
  ``check`` refuses a malformed one and several replicas behind a ClusterIP
  backend (they would share its loopback port).
- Refused (``check``), naming the object and the kind: kinds podman cannot run
  (anything not in ``KINDS``), ``hostNetwork``,
  Jobs of more than one pod, several replicas of a workload that publishes a
  host port (replicas share the host's ports), two objects publishing one host
  port, two objects that would run as one pod.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from shipway.cluster import INSTANCE_LABEL, TRACKING_ANNOTATION, ingress_routes
from shipway.model import cron
from shipway.model.errors import InputError

__all__ = ["INSTANCE_LABEL", "TRACKING_ANNOTATION", "check", "pods"]

OWNER_KIND, OWNER_NAME = "shipway.dev/owner-kind", "shipway.dev/owner-name"
OWNER_NAMESPACE = "shipway.dev/owner-namespace"
HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")

REPLICATED = frozenset({"Deployment", "StatefulSet"})
WORKLOADS = REPLICATED | {"DaemonSet", "Job", "Pod"}
STORED = frozenset(
    {"ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Namespace", "CronJob", "Ingress"}
)
KINDS = WORKLOADS | STORED
REFUSED: dict[str, str] = {}  # kind → why the podman host cannot run it

Obj = dict[str, Any]
Owner = tuple[str, str, str]  # kind, namespace, name


def namespace(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "default")


def owner(obj: Obj) -> Owner:
    """``(kind, namespace, name)``; a ``generateName`` hook not yet named goes by its prefix."""
    meta = obj.get("metadata") or {}
    return str(obj["kind"]), namespace(obj), str(meta.get("name") or meta.get("generateName"))


def describe(obj: Obj) -> str:
    """``Kind/namespace/name``, how messages name an object."""
    kind, ns, name = owner(obj)
    return f"{kind}/{ns}/{name}"


def is_hook(obj: Obj) -> bool:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    return any(a in ann for a in HOOK_ANNOTATIONS)


def replicas(obj: Obj) -> int:
    if obj["kind"] in REPLICATED:
        return int((obj.get("spec") or {}).get("replicas", 1))
    return 1


def pod_names(obj: Obj) -> list[str]:
    kind, ns, name = owner(obj)
    if kind in REPLICATED:
        return [f"{ns}.{name}-{i}" for i in range(replicas(obj))]
    return [f"{ns}.{name}"]


def template(obj: Obj) -> Obj:
    """The pod template (``metadata``, ``spec``) of a workload; a Pod is its own."""
    if obj["kind"] == "Pod":
        return {"metadata": obj.get("metadata") or {}, "spec": obj.get("spec") or {}}
    tmpl = (obj.get("spec") or {}).get("template") or {}
    return tmpl if isinstance(tmpl, dict) else {}


def pod_spec(obj: Obj) -> Obj:
    spec = template(obj).get("spec") or {}
    return spec if isinstance(spec, dict) else {}


def restart_policy(obj: Obj) -> str:
    default = "Never" if obj["kind"] == "Job" else "Always"
    return str(pod_spec(obj).get("restartPolicy") or default)


def selects(service: Obj, obj: Obj) -> bool:
    sel = (service.get("spec") or {}).get("selector") or {}
    labels = (template(obj).get("metadata") or {}).get("labels") or {}
    return (
        bool(sel)
        and namespace(service) == namespace(obj)
        and all(labels.get(k) == v for k, v in sel.items())
    )


def published(obj: Obj, others: Iterable[Obj]) -> dict[Any, tuple[int, str]]:
    """Container port (number or name) → ``(host port, what publishes it)`` for ``obj``."""
    out: dict[Any, tuple[int, str]] = {}
    for svc in others:
        spec = svc.get("spec") or {}
        if svc.get("kind") != "Service" or spec.get("type") not in ("NodePort", "LoadBalancer"):
            continue
        if not selects(svc, obj):
            continue
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            out.setdefault(target, (int(port.get("nodePort") or port["port"]), describe(svc)))
    for c in pod_spec(obj).get("containers") or []:
        for cp in c.get("ports") or []:
            if cp.get("hostPort"):
                out.setdefault(cp.get("containerPort"), (int(cp["hostPort"]), describe(obj)))
    return out


def host_ports(obj: Obj, others: Iterable[Obj]) -> dict[int, str]:
    """Host port → what publishes it, for every port ``obj``'s pods bind on 127.0.0.1."""
    return {host: source for host, source in published(obj, others).values()}


def _ports(containers: list[Obj], wanted: dict[Any, tuple[int, str]]) -> None:
    used: set[Any] = set()
    for c in containers:
        kept = []
        for cp in c.get("ports") or []:
            hit = wanted.get(cp.get("containerPort")) or wanted.get(cp.get("name"))
            if hit is None:
                continue
            used |= {cp.get("containerPort"), cp.get("name")}
            entry = {"containerPort": cp["containerPort"], "hostPort": hit[0]}
            entry["hostIP"] = "127.0.0.1"
            if cp.get("protocol"):
                entry["protocol"] = cp["protocol"]
            kept.append(entry)
        if kept:
            c["ports"] = kept
        else:
            c.pop("ports", None)
    for target, (host, _) in wanted.items():
        if target not in used and isinstance(target, int) and containers:
            containers[0].setdefault("ports", []).append(
                {"containerPort": target, "hostPort": host, "hostIP": "127.0.0.1"}
            )


def pods(app: str, obj: Obj, others: Iterable[Obj]) -> list[Obj]:
    """The Pod documents that run ``obj`` (``others``: the app's objects, for Services)."""
    tmpl = copy.deepcopy(template(obj))
    spec = tmpl.get("spec") or {}
    kind, ns, name = owner(obj)
    meta = tmpl.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    labels |= {INSTANCE_LABEL: app, OWNER_KIND: kind, OWNER_NAMESPACE: ns, OWNER_NAME: name}
    ann = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    tracking = ((obj.get("metadata") or {}).get("annotations") or {}).get(TRACKING_ANNOTATION)
    if tracking:
        ann[TRACKING_ANNOTATION] = str(tracking)
    spec["restartPolicy"] = restart_policy(obj)
    _ports(spec.get("containers") or [], published(obj, others))
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod, "labels": labels, "annotations": ann},
            "spec": copy.deepcopy(spec),
        }
        for pod in pod_names(obj)
    ]


def _kind_refusal(obj: Obj, known: frozenset[str]) -> str | None:
    kind = str(obj["kind"])
    if kind in REFUSED:
        return f"the podman target cannot run kind {kind}: {REFUSED[kind]}"
    if kind not in known:
        return (
            f"kind {kind} ({obj.get('apiVersion')}) is not known to the destination cluster: "
            f"the podman target runs {', '.join(sorted(known))}"
        )
    return None


def _workload_refusal(obj: Obj, others: list[Obj]) -> str | None:
    if pod_spec(obj).get("hostNetwork"):
        return "hostNetwork is refused on the podman target: its ports would bind on every address"
    spec = obj.get("spec") or {}
    pods_wanted = max(int(spec.get("completions", 1) or 1), int(spec.get("parallelism", 1) or 1))
    if obj["kind"] == "Job" and pods_wanted > 1:
        return "a Job runs one pod on the podman target (completions and parallelism 1)"
    ports = host_ports(obj, others)
    if replicas(obj) > 1 and ports:
        port, source = next(iter(ports.items()))
        return (
            f"{replicas(obj)} replicas cannot share host port 127.0.0.1:{port} (published by "
            f"{source}): replicas share the host's ports; use one replica"
        )
    return None


def _cronjob_refusal(obj: Obj) -> str | None:
    spec = obj.get("spec") or {}
    try:
        cron.parse(str(spec.get("schedule") or ""), spec.get("timeZone"))
    except InputError as exc:
        return exc.message
    policy = spec.get("concurrencyPolicy") or "Allow"
    if policy not in ("Allow", "Forbid", "Replace"):
        return f"concurrencyPolicy {policy!r} is not Allow, Forbid or Replace"
    job = {"kind": "Job", "spec": ((spec.get("jobTemplate") or {}).get("spec") or {})}
    if not pod_spec(job).get("containers"):
        return "spec.jobTemplate.spec.template.spec.containers is missing"
    return _workload_refusal(job, [])


def _ingress_refusals(objs: list[Obj]) -> dict[int, str]:
    """``id(object)`` → why: a bad Ingress, or replicas behind a ClusterIP Ingress backend."""
    out: dict[int, str] = {}
    for obj in objs:
        if obj["kind"] == "Ingress" and ingress_routes.problems(obj):
            out[id(obj)] = "; ".join(ingress_routes.problems(obj))
    for svc, entry in ingress_routes.backends(objs):
        if (svc.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer"):
            continue
        for obj in objs:
            if obj["kind"] in WORKLOADS and replicas(obj) > 1 and selects(svc, obj):
                out.setdefault(
                    id(obj),
                    f"{replicas(obj)} replicas cannot share the loopback port an Ingress "
                    f"reaches {describe(svc)} port {entry.get('port')} on; use one replica",
                )
    return out


def check(pairs: Iterable[tuple[str, Obj]], known: frozenset[str] = KINDS) -> None:
    """Refuse an application the podman host cannot run, before any of it is applied.

    ``pairs`` are ``(file, manifest)``; raises ``InputError`` naming the file, the
    object and its kind, with every refusal found.
    """
    items = list(pairs)
    objs = [m for _, m in items]
    problems: list[tuple[str, str]] = []
    ports: dict[int, str] = {}
    names: dict[str, str] = {}
    ingress = _ingress_refusals(objs)
    for file, obj in items:
        what = describe(obj)
        reason = _kind_refusal(obj, known) or ingress.get(id(obj))
        if reason is None and obj["kind"] == "CronJob":
            reason = _cronjob_refusal(obj)
        if reason is None and obj["kind"] in WORKLOADS:
            reason = _workload_refusal(obj, objs)
            for pod in pod_names(obj):
                if pod in names and reason is None:
                    reason = f"would run as pod {pod}, as {names[pod]} does"
                names.setdefault(pod, what)
            for port in host_ports(obj, objs):
                if port in ports and reason is None:
                    reason = f"host port 127.0.0.1:{port} is published by {ports[port]} too"
                ports.setdefault(port, what)
        if reason is not None:
            problems.append((file, f"{what}: {reason}"))
    if problems:
        files = sorted({f for f, _ in problems})
        raise InputError("; ".join(msg for _, msg in problems), subject=", ".join(files))
