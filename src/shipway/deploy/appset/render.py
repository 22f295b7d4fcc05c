"""Rendering an ApplicationSet's template with one parameter set. Pure: no I/O.

- ``fasttemplate`` (the default): every string (keys too) has each
  ``{{param}}`` (spaces inside the braces allowed) replaced by the flat
  parameter's value; a placeholder with no parameter is left as it is, as
  Argo CD's fasttemplate does.
- ``goTemplate: true``: every string is a Go text/template over the nested
  parameters, with sprig and ApplicationSet's ``normalize``/``slugify``;
  ``goTemplateOptions: [missingkey=error]`` makes a missing key an error.
  ``templatePatch`` is a Go template rendered to YAML and merged into the
  rendered Application (maps merged, lists replaced, ``null`` removes).
- A generator's own ``template`` is merged over the ApplicationSet's (its
  fields win).

Errors are ``InputError`` naming the ApplicationSet, the generator and the
parameter set (``RenderError.where``).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipway.model import bounded
from shipway.model.errors import InputError
from shipway.templates import gotemplate
from shipway.templates.errors import TemplateError

Params = dict[str, Any]
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)


@dataclass(frozen=True)
class Options:
    """How an ApplicationSet renders (``goTemplate``, ``goTemplateOptions``)."""

    go_template: bool = False
    go_options: tuple[str, ...] = ()
    funcs: dict[str, Callable[..., Any]] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, spec: dict[str, Any]) -> Options:
        go = bool(spec.get("goTemplate"))
        funcs = go_funcs() if go else {}
        return cls(go, tuple(str(o) for o in spec.get("goTemplateOptions") or ()), funcs)

    @property
    def missingkey(self) -> str:
        found = [o.partition("=")[2] for o in self.go_options if o.startswith("missingkey=")]
        return found[-1] if found else "default"


_FUNCS: dict[str, Callable[..., Any]] = {}


def go_funcs() -> dict[str, Callable[..., Any]]:
    """sprig and ApplicationSet's functions (made once)."""
    if not _FUNCS:
        _FUNCS.update(gotemplate.sprig_funcs())
    return _FUNCS


def fast(text: str, params: Params) -> str:
    """fasttemplate: ``{{ key }}`` -> ``params[key]``; unknown placeholders stay."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1).strip()
        if key in params:
            return str(params[key])
        return m.group(0)

    return _PLACEHOLDER.sub(sub, text)


def string(text: str, params: Params, opts: Options, name: str = "template") -> str:
    """One string rendered in the ApplicationSet's mode."""
    if not opts.go_template:
        return fast(text, params)
    if "{{" not in text:
        return text
    return _parsed(text, name, opts.missingkey).execute(params)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, name: str, missingkey: str) -> gotemplate.Template:
    """A parsed Go template (each string of a set's template is parsed once, not per app)."""
    t = gotemplate.Template(name, funcs=go_funcs()).option(f"missingkey={missingkey}")
    return t.parse(text)


def walk(value: Any, params: Params, opts: Options, skip: frozenset[str] = frozenset()) -> Any:
    """Render every string (and mapping key) in a structure; keys in ``skip`` are kept as-is."""
    if isinstance(value, str):
        return string(value, params, opts)
    if isinstance(value, list):
        return [walk(v, params, opts, skip) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in skip:
                out[k] = copy.deepcopy(v)
                continue
            out[string(str(k), params, opts)] = walk(v, params, opts, skip)
        return out
    return value


def merge_over(
    base: dict[str, Any], over: dict[str, Any], *, fresh: bool = False
) -> dict[str, Any]:
    """Deep merge: maps merged key by key, anything else in ``over`` replaces; ``None`` removes.

    ``fresh``: ``base`` is the caller's own new structure, merged into in place."""
    out = base if fresh else copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_over(out[k], v, fresh=fresh)
        else:
            out[k] = copy.deepcopy(v)
    return out


def generator_template(base: dict[str, Any], own: dict[str, Any] | None) -> dict[str, Any]:
    """A generator's ``template`` over the ApplicationSet's: its non-empty fields win."""
    if not own:
        return base  # rendering never changes the template it walks
    return merge_over(base, _non_empty(own))


def _non_empty(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, dict):
            inner = _non_empty(v)
            if inner:
                out[k] = inner
        elif v not in (None, "", [], {}):
            out[k] = v
    return out


def application(
    template: dict[str, Any], params: Params, opts: Options, patch: str, namespace: str
) -> dict[str, Any]:
    """The Application one parameter set makes (``TemplateError``/``InputError`` on failure)."""
    rendered = walk(template, params, opts)
    if patch:
        import yaml

        text = string(patch, params, opts, "templatePatch")
        bounded.check_yaml(text, "templatePatch")
        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise InputError(f"templatePatch did not render to YAML: {exc}") from None
        if data is not None and not isinstance(data, dict):
            raise InputError("templatePatch must render to a mapping")
        rendered = merge_over(rendered, data or {}, fresh=True)
    meta = dict(rendered.get("metadata") or {})
    meta.setdefault("namespace", "")
    if not meta["namespace"]:
        meta["namespace"] = namespace
    for key in ("labels", "annotations"):
        if not meta.get(key):
            meta.pop(key, None)
    if not meta.get("finalizers"):
        meta.pop("finalizers", None)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": rendered.get("spec") or {},
    }


def describe(exc: Exception) -> str:
    """A template error's message (Go's words for a Go template)."""
    if isinstance(exc, TemplateError):
        return str(exc)
    if isinstance(exc, InputError):
        return exc.message
    return str(exc)
