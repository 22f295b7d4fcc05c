"""``repo.GetAppDetails``'s answer, built from what an Application's source renders from. Pure.

Argo CD's notifications function returns the repo server's app details for
the Application's source: ``Type`` (``Helm``, ``Kustomize``, ``Directory``)
and, for that type, ``Helm`` (``Name``, ``ValueFiles``, ``Values``,
``Parameters`` of ``Name``/``Value``/``ForceString``, ``FileParameters`` of
``Name``/``Path``, and the methods ``GetParameterValueByName`` and
``GetFileParameterPathByName``), ``Kustomize`` (``Images``) or ``Directory``;
the other two are nil. Here:

- ``helm(name, source, values)``: the parameters are the chart's
  ``values.yaml`` then each of ``helm.valueFiles`` flattened as Argo CD
  flattens them (``a.b``, ``list[0]``), the later file winning, then the
  Application's ``helm.parameters`` over them (what ``helm template --set``
  applies); sorted by name. ``Values`` is the text of the chart's
  ``values.yaml``; ``Name`` the Application's name.
- ``kustomize(manifests)``: the images of the rendered manifests' containers
  (init and ephemeral ones too), each once, in order of appearance.

The caller (``repofuncs``) reads the files and renders; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from shipway.model import bounded
from shipway.model.errors import InputError

HELM, KUSTOMIZE, DIRECTORY = "Helm", "Kustomize", "Directory"


class HelmDetails(dict[str, Any]):
    """``AppDetail.Helm``: its fields as keys, and the two methods Argo CD gives it."""

    GO_METHODS = frozenset({"GetParameterValueByName", "GetFileParameterPathByName"})

    def GetParameterValueByName(self, name: object) -> str:
        for p in self.get("Parameters") or []:
            if p["Name"] == str(name):
                return str(p["Value"])
        return ""

    def GetFileParameterPathByName(self, name: object) -> str:
        for p in self.get("FileParameters") or []:
            if p["Name"] == str(name):
                return str(p["Path"])
        return ""


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    return str(v)


def flatten(values: Any, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}, "l": [x]}`` → ``{"a.b": "1", "l[0]": "x"}``."""
    out: dict[str, str] = {}
    if isinstance(values, Mapping):
        for k, v in values.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(values, list):
        for i, v in enumerate(values):
            out.update(flatten(v, f"{prefix}[{i}]"))
    elif prefix:
        out[prefix] = _scalar(values)
    return out


def parse_values(text: str, file: str) -> dict[str, Any]:
    """One values file as a mapping; ``ValueError`` naming the file when it is not one."""
    try:
        bounded.check_yaml(text, file)
        doc = yaml.safe_load(text) if text.strip() else {}
    except InputError as exc:
        raise ValueError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{file}: not valid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError(f"{file}: a values file is a mapping")
    return doc


def helm(name: str, source: Mapping[str, Any], values: Sequence[tuple[str, str]]) -> HelmDetails:
    """``Helm`` for ``source``; ``values`` is ``(file, text)`` of the chart's ``values.yaml``
    (first, "" when it has none) and then of each value file, in order."""
    opts = source.get("helm") or {}
    params: dict[str, dict[str, Any]] = {}
    for file, text in values:
        for k, v in flatten(parse_values(text, file)).items():
            params[k] = {"Name": k, "Value": v, "ForceString": False}
    for p in opts.get("parameters") or []:
        k = str(p.get("name") or "")
        if k:
            params[k] = {"Name": k, "Value": _scalar(p.get("value")),
                         "ForceString": bool(p.get("forceString"))}  # fmt: skip
    files = [{"Name": str(f.get("name") or ""), "Path": str(f.get("path") or "")}
             for f in opts.get("fileParameters") or []]  # fmt: skip
    return HelmDetails(
        Name=name,
        ValueFiles=[str(f) for f in opts.get("valueFiles") or []],
        Values=values[0][1] if values else "",
        Parameters=[params[k] for k in sorted(params)],
        FileParameters=files,
    )


def _containers(obj: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    spec = obj.get("spec") or {}
    if not isinstance(spec, Mapping):
        return
    pod = spec
    if isinstance(spec.get("template"), Mapping):  # Deployment, StatefulSet, Job...
        pod = spec["template"].get("spec") or {}
    elif isinstance(spec.get("jobTemplate"), Mapping):  # CronJob
        pod = ((spec["jobTemplate"].get("spec") or {}).get("template") or {}).get("spec") or {}
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in pod.get(field) or []:
            if isinstance(c, Mapping):
                yield c


def kustomize(manifests: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``Kustomize`` from the rendered manifests: ``Images``."""
    images: dict[str, None] = {}
    for obj in manifests:
        for c in _containers(obj):
            if c.get("image"):
                images[str(c["image"])] = None
    return {"Images": list(images)}


def app_detail(
    kind: str, *, helm_spec: HelmDetails | None = None, kustomize_spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``AppDetail``: ``Type`` and that type's part (the others nil)."""
    return {
        "Type": kind,
        "Helm": helm_spec if kind == HELM else None,
        "Kustomize": kustomize_spec if kind == KUSTOMIZE else None,
        "Directory": {} if kind == DIRECTORY else None,
    }
