"""A Pod template for the Kubernetes executor's job Pods, checked and merged. Pure.

As actions-runner-controller's container-hook template: a Pod YAML whose
``metadata.labels``/``annotations``, ``spec`` fields (nodeSelector,
tolerations, serviceAccountName, securityContext, imagePullSecrets,
priorityClassName, ...) and a container named ``job`` (resources, env,
securityContext, volumeMounts, ...) are merged into the Pod shipway builds.
Shipway's own fields win where both set one (labels it selects by, the job
container's image, command and working directory, restartPolicy,
activeDeadlineSeconds); lists (volumes, tolerations, imagePullSecrets,
hostAliases, env, volumeMounts) are joined. Other containers of the template
run as sidecars of the job Pod. Errors name ``file:line:column``.
"""

from __future__ import annotations

import copy
from typing import Any

from shipway.model.errors import InputError
from shipway.model.yamlsrc import Located, load_one

JOB = "job"
# Pod spec fields whose value shipway sets and a template cannot change
_OURS = {"containers", "restartPolicy", "activeDeadlineSeconds"}
# job container fields that come from the workflow
_JOB_OURS = {"name", "image", "command", "args", "workingDir"}


def load_template(text: str, file: str) -> dict[str, Any]:
    """Parse and check a Pod template; ``InputError`` with ``file:line:column`` when bad."""
    doc = load_one(text, file)
    data = doc.data
    if not isinstance(data, dict):
        raise InputError("a pod template must be a Pod (a mapping)", subject=doc.where([]))
    check_template(data, doc)
    return data


def check_template(data: dict[str, Any], doc: Located | None = None) -> None:
    """Check a template given as data (``doc`` gives positions when it came from a file)."""

    def fail(message: str, path: list[str | int]) -> None:
        where = doc.where(path) if doc is not None else "podTemplate." + ".".join(map(str, path))
        raise InputError(message, subject=where)

    if data.get("kind", "Pod") != "Pod":
        fail(f"a pod template must be kind Pod, not {data.get('kind')!r}", ["kind"])
    for key in data:
        if key not in ("apiVersion", "kind", "metadata", "spec"):
            fail(f"unknown key {key!r} (a Pod has apiVersion, kind, metadata, spec)", [key])
    meta = data.get("metadata") or {}
    if not isinstance(meta, dict):
        fail("metadata must be a mapping", ["metadata"])
    for key in ("labels", "annotations"):
        value = meta.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            fail(f"metadata.{key} must map names to strings", ["metadata", key])
    spec = data.get("spec") or {}
    if not isinstance(spec, dict):
        fail("spec must be a mapping", ["spec"])
    for key in ("volumes", "tolerations", "imagePullSecrets", "hostAliases", "initContainers"):
        if key in spec and not isinstance(spec[key], list):
            fail(f"spec.{key} must be a list", ["spec", key])
    containers = spec.get("containers") or []
    if not isinstance(containers, list):
        fail("spec.containers must be a list", ["spec", "containers"])
    for i, c in enumerate(containers):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            fail("each container needs a name", ["spec", "containers", i])
        if c["name"] != JOB and not c.get("image"):
            fail(f"sidecar container {c['name']!r} needs an image", ["spec", "containers", i])
        for key in ("env", "volumeMounts"):
            if key in c and not isinstance(c[key], list):
                fail(f"{key} must be a list", ["spec", "containers", i, key])


def _join(ours: list[Any], theirs: list[Any], key: str) -> list[Any]:
    """Both lists; an entry of ours replaces one of theirs with the same ``key``."""
    mine = {item[key] for item in ours if isinstance(item, dict) and key in item}
    kept = [t for t in theirs if not (isinstance(t, dict) and key in t and t[key] in mine)]
    return [*kept, *ours]


def _deep(theirs: Any, ours: Any) -> Any:
    """Mappings merged key by key, ours winning; anything else: ours."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        out = dict(theirs)
        for key, value in ours.items():
            out[key] = _deep(theirs.get(key), value) if key in theirs else value
        return out
    return ours


def _merge_job(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    out = dict(ours)
    for key, value in theirs.items():
        if key in _JOB_OURS:
            continue
        if key in ("env", "volumeMounts"):
            out[key] = _join(ours.get(key) or [], value or [], "name" if key == "env"
                             else "mountPath")  # fmt: skip
        elif key in ours:
            out[key] = _deep(value, ours[key])
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_template(pod: dict[str, Any], template: dict[str, Any], main: str = JOB,
                   sidecars: bool = True) -> dict[str, Any]:  # fmt: skip
    """``pod`` with ``template`` merged in; the template's ``job`` container goes into the
    container named ``main``; its other containers are added when ``sidecars``."""
    out = copy.deepcopy(pod)
    tmeta = template.get("metadata") or {}
    meta = out.setdefault("metadata", {})
    for key in ("labels", "annotations"):
        if tmeta.get(key):
            meta[key] = {**tmeta[key], **(meta.get(key) or {})}
    tspec = template.get("spec") or {}
    spec = out.setdefault("spec", {})
    for key, value in tspec.items():
        if key in _OURS:
            continue
        if isinstance(value, list) and key in spec:
            spec[key] = _join(spec[key], value, "name" if key == "volumes" else "")
        elif key in spec:
            spec[key] = _deep(value, spec[key])
        else:
            spec[key] = copy.deepcopy(value)
    containers = spec.get("containers") or []
    for tc in tspec.get("containers") or []:
        if tc.get("name") == JOB:
            containers = [_merge_job(c, tc) if c.get("name") == main else c for c in containers]
        elif sidecars and all(c.get("name") != tc.get("name") for c in containers):
            containers.append(copy.deepcopy(tc))
    spec["containers"] = containers
    return out
