"""Built-in manifest checks, matching kube-linter's default set by name and meaning.

Pure: takes rendered objects, returns findings. Checks (kube-linter's names):
``latest-tag``, ``run-as-non-root``, ``privileged-container``, ``host-network``,
``host-pid``, ``host-ipc``, ``docker-sock``, ``privilege-escalation-container``,
``no-read-only-root-fs``, ``env-var-secret``, ``mismatching-selector``,
``dangling-service``. An object opts out of a check with kube-linter's
annotation ``ignore-check.kube-linter.io/<check>``. Their conditions are
kube-linter's: ``run-as-non-root`` takes the container's ``runAsUser`` /
``runAsNonRoot`` over the pod's and flags ``runAsNonRoot`` with ``runAsUser: 0``;
``privilege-escalation-container`` flags ``allowPrivilegeEscalation: true``,
``privileged`` and an added ``SYS_ADMIN`` capability; ``env-var-secret`` flags
a literal, non-empty value of a variable whose name contains ``secret`` (any
case); ``mismatching-selector`` reads ``matchLabels`` and ``matchExpressions``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from shipway.security.policy import workloads

CHECKS = (
    "latest-tag",
    "run-as-non-root",
    "privileged-container",
    "host-network",
    "host-pid",
    "host-ipc",
    "docker-sock",
    "privilege-escalation-container",
    "no-read-only-root-fs",
    "env-var-secret",
    "mismatching-selector",
    "dangling-service",
)
_SECRETISH = re.compile(r"(?i)secret")  # kube-linter's env-var-secret: name (?i).*secret.*


@dataclass(frozen=True)
class Finding:
    """One problem in one object: which check (or policy), the object and the message."""

    check: str
    object: str
    message: str
    severity: str = "warning"  # warning | failure
    source: str = "lint"  # lint | rego file

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def object_name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{ns + '/' if ns else ''}{meta.get('name')}"


def _ignored(obj: dict[str, Any], check: str) -> bool:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    return f"ignore-check.kube-linter.io/{check}" in ann


def _tag_is_latest(image: str) -> bool:
    if "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def _escalation(sc: dict[str, Any]) -> str:
    """Why a container's securityContext allows privilege escalation ("": it does not)."""
    if sc.get("allowPrivilegeEscalation") is True:
        return "allows privilege escalation (allowPrivilegeEscalation: true)"
    if sc.get("privileged") is True:
        return "is privileged, hence allows privilege escalation"
    if "SYS_ADMIN" in ((sc.get("capabilities") or {}).get("add") or []):
        return "adds the SYS_ADMIN capability, hence allows privilege escalation"
    return ""


def _selects(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """A LabelSelector (``matchLabels``, ``matchExpressions``) against labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _container_checks(obj: dict[str, Any], spec: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pod_sc = spec.get("securityContext") or {}
    for _, c in workloads.containers(obj):
        name = c.get("name", "?")
        sc = c.get("securityContext") or {}
        image = str(c.get("image", ""))
        if image and _tag_is_latest(image):
            out.append(
                (
                    "latest-tag",
                    f'container "{name}" uses image "{image}" with the '
                    "latest (or no) tag; pin a version or a digest",
                )
            )
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if isinstance(uid, int) and uid > 0:
            pass  # an explicit non-root user
        elif non_root and uid == 0:
            out.append(
                (
                    "run-as-non-root",
                    f'container "{name}" is set to runAsNonRoot, but runAsUser set to 0',
                )
            )
        elif not non_root:
            out.append(
                (
                    "run-as-non-root",
                    f'container "{name}" is not set to run as a '
                    "non-root user (runAsNonRoot: true or runAsUser > 0)",
                )
            )
        if sc.get("privileged"):
            out.append(("privileged-container", f'container "{name}" is privileged'))
        escalation = _escalation(sc)
        if escalation:
            out.append(("privilege-escalation-container", f'container "{name}" {escalation}'))
        if not sc.get("readOnlyRootFilesystem"):
            out.append(
                (
                    "no-read-only-root-fs",
                    f'container "{name}" does not have a read-only root file system',
                )
            )
        for env in c.get("env") or []:
            if (
                isinstance(env, dict)
                and "value" in env
                and _SECRETISH.search(str(env.get("name", "")))
                and env.get("value")
            ):
                out.append(
                    (
                        "env-var-secret",
                        f'container "{name}": environment variable '
                        f"{env['name']} holds a literal value; use valueFrom.secretKeyRef",
                    )
                )
    return out


def _pod_checks(obj: dict[str, Any], spec: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for field, check in (
        ("hostNetwork", "host-network"),
        ("hostPID", "host-pid"),
        ("hostIPC", "host-ipc"),
    ):
        if spec.get(field):
            out.append((check, f"the pod sets {field}: true"))
    for vol in spec.get("volumes") or []:
        path = str(((vol or {}).get("hostPath") or {}).get("path", ""))
        if path.rstrip("/").endswith("docker.sock"):
            out.append(("docker-sock", f'volume "{vol.get("name")}" mounts {path}'))
    return out


def _selector_check(obj: dict[str, Any]) -> list[tuple[str, str]]:
    if obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return []
    spec = obj.get("spec") or {}
    selector = spec.get("selector") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if selector and not _selects(selector, labels):
        return [
            (
                "mismatching-selector",
                f"the selector {selector} does not match the pod template's labels {labels}",
            )
        ]
    return []


def _pod_labels(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for o in objects:
        if o.get("kind") == "Pod":
            out.append((o.get("metadata") or {}).get("labels") or {})
        elif workloads.pod_spec(o) is not None:
            spec = o.get("spec") or {}
            if o.get("kind") == "CronJob":
                spec = (spec.get("jobTemplate") or {}).get("spec") or {}
            out.append(((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})
    return out


def run(objects: list[dict[str, Any]], disabled: frozenset[str] = frozenset()) -> list[Finding]:
    """Every default check over ``objects``."""
    found: list[Finding] = []
    pods = _pod_labels(objects)
    for obj in objects:
        hits: list[tuple[str, str]] = []
        spec = workloads.pod_spec(obj)
        if spec is not None:
            hits += _container_checks(obj, spec) + _pod_checks(obj, spec)
        hits += _selector_check(obj)
        if obj.get("kind") == "Service":
            sel = (obj.get("spec") or {}).get("selector") or {}
            if sel and not any(all(lab.get(k) == v for k, v in sel.items()) for lab in pods):
                hits.append(("dangling-service", f"no pods match the service selector {sel}"))
        name = object_name(obj)
        for check, msg in hits:
            if check not in disabled and not _ignored(obj, check):
                found.append(Finding(check, name, msg))
    return found
