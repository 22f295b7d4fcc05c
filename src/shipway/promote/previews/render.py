"""An ApplicationSet template rendered with one pull request's parameters. Pure: no I/O.

The preview's Application is the ApplicationSet's ``spec.template`` with the
generator's own ``template`` merged over it (as Argo CD does), every string
rendered with the parameters: ``{{param}}`` substitution (fasttemplate, spaces
inside the braces allowed, an unknown name left as is) or, with ``goTemplate:
true``, Go's text/template with sprig and ``goTemplateOptions`` (for example
``missingkey=error``). A template error names the ApplicationSet, the
generator and the field.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from shipway.model.errors import InputError
from shipway.promote.previews.source import Source
from shipway.templates import gotemplate

_FAST = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def _fast(text: str, params: dict[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        value = params.get(m.group(1))
        return m.group(0) if value is None or isinstance(value, list) else str(value)

    return _FAST.sub(sub, text)


def _walk(node: Any, fn: Any, path: str) -> Any:
    if isinstance(node, dict):
        return {_walk(k, fn, path) if isinstance(k, str) else k: _walk(v, fn, f"{path}.{k}")
                for k, v in node.items()}  # fmt: skip
    if isinstance(node, list):
        return [_walk(v, fn, f"{path}[{i}]") for i, v in enumerate(node)]
    return fn(node, path) if isinstance(node, str) else node


def application(appset: dict[str, Any], source: Source, params: dict[str, Any]) -> dict[str, Any]:
    """The Application ``appset``'s template makes for one pull request."""
    spec = appset.get("spec") or {}
    name = str((appset.get("metadata") or {}).get("name"))
    where = f"ApplicationSet/{name}: generator {source.index} (pullRequest)"
    template = _merge(spec.get("template") or {}, source.template or {})
    go = bool(spec.get("goTemplate"))
    options = [str(o) for o in spec.get("goTemplateOptions") or []]
    funcs = gotemplate.sprig_funcs() if go else {}
    missing = next((o.split("=", 1)[1] for o in options if o.startswith("missingkey=")),
                   "default")  # fmt: skip

    def render(text: str, path: str) -> str:
        if not go:
            return _fast(text, params)
        try:
            return gotemplate.render(text, params, name=path, funcs=funcs, missingkey=missing)
        except Exception as exc:  # the template engine's own errors, with the field named
            raise InputError(
                f"{where}: template{path}: {exc}", subject=f"ApplicationSet/{name}"
            ) from None

    body = _walk(template, render, "")
    meta = body.setdefault("metadata", {})
    if not meta.get("name"):
        raise InputError(f"{where}: the template gives no metadata.name",
                         subject=f"ApplicationSet/{name}")  # fmt: skip
    meta.setdefault("namespace", (appset.get("metadata") or {}).get("namespace") or "argocd")
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **body}
