"""The ``.argocd-source-<app>.yaml`` override file Argo CD Image Updater writes by default.

Argo CD merges this file's ``kustomize.images`` (``name=newname@digest`` or
``name=newname:tag`` strings) and ``helm.parameters`` into the Application's
source. The file is generated, so it is rewritten whole, keeping entries for
other images. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

import yaml

from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.updater.edit.yamltext import Change


def _load(text: str, file: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    bounded.check_yaml(text, file)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(f"invalid YAML: {exc}", file=file, line=(line or 0) + 1) from None
    if not isinstance(data, dict):
        raise InputError("the override file must be a mapping", file=file, line=1)
    return data


def set_kustomize_image(text: str, file: str, name: str, value: str) -> tuple[str, list[Change]]:
    """Set the ``kustomize.images`` entry for ``name`` to ``name=value``."""
    data = _load(text, file)
    images = list((data.setdefault("kustomize", {}) or {}).get("images") or [])
    entry = f"{name}={value}" if name != value.split("@")[0].rsplit(":", 1)[0] else value
    old = None
    for i, item in enumerate(images):
        key = str(item).split("=", 1)[0] if "=" in str(item) else str(item).split("@")[0]
        if key == name or str(item).split("=", 1)[0] == name:
            old = str(item)
            images[i] = entry
            break
    else:
        images.append(entry)
    if old == entry:
        return text, []
    data["kustomize"]["images"] = images
    return _dump(data), [Change(file, 1, f"kustomize.images[{name}]", old, entry)]


def set_helm_parameters(text: str, file: str, params: dict[str, str]) -> tuple[str, list[Change]]:
    """Set ``helm.parameters`` entries (``forcestring: true``) by name."""
    data = _load(text, file)
    helm = data.setdefault("helm", {}) or {}
    data["helm"] = helm
    current = list(helm.get("parameters") or [])
    changes: list[Change] = []
    for name, value in params.items():
        item = next((p for p in current if isinstance(p, dict) and p.get("name") == name), None)
        if item is None:
            current.append({"name": name, "value": value, "forcestring": True})
            changes.append(Change(file, 1, f"helm.parameters[{name}]", None, value))
        elif str(item.get("value")) != value:
            changes.append(
                Change(file, 1, f"helm.parameters[{name}]", str(item.get("value")), value)
            )
            item["value"] = value
    if not changes:
        return text, []
    helm["parameters"] = current
    return _dump(data), changes


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
