"""The images rendered manifests run, and which objects a Kyverno rule matches.

Pure. ``pin_images`` rewrites container images (``mutateDigest``'s tag → digest).
A Pod rule applies to Pod controllers too (Kyverno's auto-generated rules):
Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from shipway.model import kyverno

POD_CONTROLLERS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The PodSpec of a Pod or a Pod controller, else None."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec if isinstance(spec, dict) else None
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    if kind in POD_CONTROLLERS:
        tmpl = (spec.get("template") or {}).get("spec")
        return tmpl if isinstance(tmpl, dict) else None
    return None


def containers(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(list name, container)`` of every container of a workload object."""
    spec = pod_spec(obj)
    if not spec:
        return
    for field in _CONTAINER_LISTS:
        for c in spec.get(field) or []:
            if isinstance(c, dict):
                yield field, c


def images(obj: dict[str, Any]) -> list[str]:
    return [str(c["image"]) for _, c in containers(obj) if c.get("image")]


def digest_form(image: str, digest: str) -> str:
    """``image`` as Kyverno's ``mutateDigest`` rewrites it: ``registry/repo:tag@digest``."""
    return f"{normalize(image)}@{digest}"


def pin_images(obj: dict[str, Any], pins: Mapping[str, str]) -> dict[str, Any]:
    """``obj`` with each container image found in ``pins`` replaced (a copy when any is)."""
    if not pins or not any(i in pins for i in images(obj)):
        return obj
    out = copy.deepcopy(obj)
    for _, c in containers(out):
        image = c.get("image")
        if isinstance(image, str) and image in pins:
            c["image"] = pins[image]
    return out


def with_images(obj: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """``obj`` (a copy) running ``wanted``, in the order ``images`` lists them."""
    if images(obj) == wanted:
        return obj
    out = copy.deepcopy(obj)
    at = iter(wanted)
    for _, c in containers(out):
        if c.get("image"):
            c["image"] = next(at)
    return out


def normalize(image: str) -> str:
    """``nginx`` → ``docker.io/library/nginx:latest`` (how Kyverno matches references)."""
    name, at, digest = image.partition("@")
    first, slash, _ = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{'library/' if not slash else ''}{name}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not at:
        name += ":latest"
    return name + (at + digest if at else "")


def image_matches(image: str, patterns: list[str]) -> bool:
    full = normalize(image)
    return any(fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(image, p) for p in patterns)


def _filter_matches(f: kyverno.ResourceFilter, obj: dict[str, Any], namespace: str) -> bool:
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    if f.kinds:
        kinds = {k.rsplit("/", 1)[-1] for k in f.kinds}
        if kind not in kinds and not ("Pod" in kinds and kind in POD_CONTROLLERS):
            return False
    names = [*f.names, *([f.name] if f.name else [])]
    if names and not any(fnmatch.fnmatchcase(str(meta.get("name", "")), n) for n in names):
        return False
    if f.namespaces and not any(fnmatch.fnmatchcase(namespace, n) for n in f.namespaces):
        return False
    labels = meta.get("labels") or {}
    wanted = (f.selector or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def _match(m: kyverno.Match, obj: dict[str, Any], namespace: str) -> bool:
    filters = [f.resources for f in m.any if f.resources]
    if m.resources:
        filters.append(m.resources)
    if filters and not any(_filter_matches(f, obj, namespace) for f in filters):
        return False
    every = [f.resources for f in m.all if f.resources]
    return all(_filter_matches(f, obj, namespace) for f in every)


def rule_matches(rule: kyverno.Rule, obj: dict[str, Any], namespace: str) -> bool:
    if not _match(rule.match, obj, namespace):
        return False
    if rule.exclude and (rule.exclude.any or rule.exclude.all or rule.exclude.resources):
        return not _match(rule.exclude, obj, namespace)
    return True
