"""Tekton Triggers' kinds (``triggers.tekton.dev/v1beta1``), checked strictly as the API does.

TriggerTemplate, TriggerBinding, ClusterTriggerBinding and EventListener are
stored with ``shipway apply`` (``shipway.model.resources`` calls ``problems``);
this module is the fields of each (the ``tekton.schema`` walker) and the
checks Tekton's webhook makes beyond the fields: a template's
``$(tt.params.x)`` names a declared param, its resource templates are
PipelineRuns or TaskRuns (the kinds shipway runs), a binding's value is a
``$(body.…)``/``$(header.…)``/``$(extensions.…)`` expression or text, an
interceptor is one shipway serves (``cel``, ``github``, ``gitlab``) with the
params it reads, and every CEL expression compiles. Pure: data in, problems
out as ``(path, message)``; evaluating a trigger is ``ci.tekton.trigger_eval``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from shipway.model.fields import ANY, STR, Enum, ListOf, Path, check, dotted

API_VERSION = "triggers.tekton.dev/v1beta1"
KINDS = ("TriggerTemplate", "TriggerBinding", "ClusterTriggerBinding", "EventListener")
INTERCEPTORS = ("cel", "github", "gitlab")
RUN_KINDS = ("PipelineRun", "TaskRun")

_PARAM_SPEC = {"name!": STR, "description": STR, "default": STR}
TEMPLATE_SPEC = {"params": ListOf(_PARAM_SPEC), "resourcetemplates!": ListOf(ANY)}
BINDING_SPEC = {"params": ListOf({"name!": STR, "value!": STR})}
_BINDING_REF = {"name": STR, "value": STR, "ref": STR, "apiversion": STR,
                "kind": Enum("TriggerBinding", "ClusterTriggerBinding")}  # fmt: skip
_TEMPLATE_REF = {"ref": STR, "name": STR, "apiversion": STR, "spec": TEMPLATE_SPEC}
_OVERLAY = {"key!": STR, "expression!": STR}
_FORGE = {"secretRef": ANY, "eventTypes": ListOf(STR), "addChangedFiles": ANY}
INTERCEPTOR = {"name": STR, "params": ListOf({"name!": STR, "value!": ANY}), "webhook": ANY,
               "ref": {"name!": STR, "kind": Enum("ClusterInterceptor", "NamespacedInterceptor"),
                       "apiVersion": STR},
               # v1alpha1's forms, still read by v1beta1
               "cel": {"filter": STR, "overlays": ListOf(_OVERLAY)},
               "github": _FORGE, "gitlab": _FORGE, "bitbucket": ANY}  # fmt: skip
TRIGGER = {"name": STR, "bindings": ListOf(_BINDING_REF), "template": _TEMPLATE_REF,
           "interceptors": ListOf(INTERCEPTOR), "triggerRef": STR,
           "serviceAccountName": STR}  # fmt: skip
EVENT_LISTENER_SPEC = {"triggers": ListOf(TRIGGER), "serviceAccountName": STR,
                       "namespaceSelector": ANY, "labelSelector": ANY, "resources": ANY,
                       "triggerGroups": ANY, "cloudEventURI": STR}  # fmt: skip
SPECS = {"TriggerTemplate": TEMPLATE_SPEC, "TriggerBinding": BINDING_SPEC,
         "ClusterTriggerBinding": BINDING_SPEC, "EventListener": EVENT_LISTENER_SPEC}  # fmt: skip

TT_PARAM = re.compile(r"\$\(tt\.params\.([A-Za-z0-9_.-]+)\)")
OLD_PARAM = re.compile(r"\$\(params\.([A-Za-z0-9_.-]+)\)")
EXPR = re.compile(r"\$\(([^()]*)\)")
_ROOTS = ("body", "header", "extensions")


def problems(kind: str, spec: Any) -> Iterator[tuple[Path, str]]:
    """Every problem of ``spec`` (the object's ``spec``, path from ``spec``)."""
    found = list(check(spec, SPECS[kind], ("spec",)))
    yield from found
    if found or not isinstance(spec, dict):
        return
    if kind == "TriggerTemplate":
        yield from template_problems(spec, ("spec",))
    elif kind == "EventListener":
        yield from _listener(spec)
    else:
        for i, p in enumerate(spec.get("params") or []):
            yield from binding_value(p["value"], ("spec", "params", i, "value"))


def template_problems(spec: dict[str, Any], at: Path) -> Iterator[tuple[Path, str]]:
    declared = {str(p["name"]) for p in spec.get("params") or []}
    for i, res in enumerate(spec.get("resourcetemplates") or []):
        where = (*at, "resourcetemplates", i)
        if not isinstance(res, dict):
            yield where, f"{dotted(where)} must be a mapping, got {type(res).__name__}"
            continue
        kind, version = res.get("kind"), str(res.get("apiVersion") or "")
        if kind not in RUN_KINDS or not version.startswith("tekton.dev/"):
            yield where, (f"{dotted(where)}: {version or '(no apiVersion)'} {kind or '(no kind)'}"
                          " is not served: a template here creates tekton.dev PipelineRuns "
                          "and TaskRuns")  # fmt: skip
        text = json.dumps(res)
        for name in TT_PARAM.findall(text):
            if name not in declared:
                yield (
                    where,
                    (
                        f"{dotted(where)}: $(tt.params.{name}) names no param of the "
                        f"template (declared: {', '.join(sorted(declared)) or 'none'})"
                    ),
                )
        for name in OLD_PARAM.findall(text):
            if name in declared:
                yield where, (f"{dotted(where)}: $(params.{name}) is not replaced by Tekton "
                              f"Triggers v1beta1: write $(tt.params.{name})")  # fmt: skip


def binding_value(value: str, at: Path) -> Iterator[tuple[Path, str]]:
    for expr in EXPR.findall(value):
        root = re.split(r"[.\[]", expr, maxsplit=1)[0]
        if root not in _ROOTS:
            yield at, (f"{dotted(at)}: $({expr}) is not a binding expression (one of "
                       "$(body.…), $(header.…), $(extensions.…))")  # fmt: skip


def _listener(spec: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    for t, trig in enumerate(spec.get("triggers") or []):
        at: Path = ("spec", "triggers", t)
        if trig.get("triggerRef"):
            yield (*at, "triggerRef"), (f"{dotted((*at, 'triggerRef'))}: Trigger objects are "
                                        "not served: put bindings, template and interceptors "
                                        "in the EventListener")  # fmt: skip
            continue
        tmpl = trig.get("template")
        if not tmpl or not (tmpl.get("ref") or tmpl.get("name") or tmpl.get("spec")):
            yield at, f"missing field(s): {dotted((*at, 'template'))}"
        elif tmpl.get("spec"):
            yield from template_problems(tmpl["spec"], (*at, "template", "spec"))
        for b, bind in enumerate(trig.get("bindings") or []):
            where = (*at, "bindings", b)
            if bind.get("ref"):
                continue
            if bind.get("name") and "value" in bind:
                yield from binding_value(str(bind["value"]), (*where, "value"))
            else:
                yield where, f"{dotted(where)}: give ref (a TriggerBinding) or name and value"
        for i, icpt in enumerate(trig.get("interceptors") or []):
            for path, expr in _interceptor(icpt, (*at, "interceptors", i)):
                if isinstance(expr, str):
                    try:
                        cel_ast(expr)
                    except ValueError as exc:
                        yield path, f"{dotted(path)}: CEL: {exc}"
                else:
                    yield path, expr[0]


def interceptor_of(icpt: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, params) of an interceptor in either form (``ref`` + ``params`` or v1alpha1's)."""
    for old in ("cel", "github", "gitlab", "bitbucket"):
        if old in icpt:
            return old, dict(icpt[old] or {})
    name = str((icpt.get("ref") or {}).get("name") or icpt.get("name") or "")
    return name, {str(p["name"]): p["value"] for p in icpt.get("params") or []}


def _param_path(icpt: dict[str, Any], name: str, at: Path) -> Path:
    """Where the interceptor's param ``name`` is written (either form)."""
    if "cel" in icpt:
        return (*at, "cel", name)
    for i, p in enumerate(icpt.get("params") or []):
        if p.get("name") == name:
            return (*at, "params", i, "value")
    return at


def _interceptor(icpt: dict[str, Any], at: Path) -> Iterator[tuple[Path, str | tuple[str]]]:
    """(path, CEL text to compile) or (path, (problem,)) for one interceptor."""
    name, params = interceptor_of(icpt)
    if icpt.get("webhook") or name not in INTERCEPTORS:
        what = "webhook interceptors" if icpt.get("webhook") else f"interceptor {name!r}"
        yield at, (f"{dotted(at)}: {what} not served (one of: {', '.join(INTERCEPTORS)})",)
        return
    if name == "cel":
        for key in set(params) - {"filter", "overlays"}:
            yield at, (f"{dotted(at)}: cel interceptor has no param {key!r}",)
        if "filter" in params:
            where = _param_path(icpt, "filter", at)
            if not isinstance(params["filter"], str):
                yield where, (f"{dotted(where)}: cel filter must be a string",)
            else:
                yield where, params["filter"]
        overlays = params.get("overlays") or []
        if not isinstance(overlays, list):
            yield at, (f"{dotted(at)}: cel overlays must be a list of key and expression",)
            return
        for o in overlays:
            if not isinstance(o, dict) or not isinstance(o.get("key"), str) or not isinstance(
                    o.get("expression"), str):  # fmt: skip
                yield at, (f"{dotted(at)}: each cel overlay needs key and expression",)
            else:
                yield _param_path(icpt, "overlays", at), o["expression"]
        return
    for key in set(params) - {"eventTypes", "secretRef", "addChangedFiles"}:
        yield at, (f"{dotted(at)}: {name} interceptor has no param {key!r}",)
    types = params.get("eventTypes")
    if types is not None and not (isinstance(types, list)
                                  and all(isinstance(x, str) for x in types)):  # fmt: skip
        yield at, (f"{dotted(at)}: {name} eventTypes must be a list of strings",)


def cel_ast(text: str) -> Any:
    """The parsed CEL expression ``text``; ``ValueError`` saying where its syntax is wrong."""
    import celpy  # the lark grammar loads only when a trigger has CEL
    from celpy.celparser import CELParseError

    try:
        return celpy.Environment().compile(text)
    except CELParseError as exc:
        lines = str(exc).rstrip().splitlines()
        col = len(lines[1]) - len(lines[1].lstrip()) + 1 if len(lines) > 1 else 0
        raise ValueError(f"syntax error at column {col} of {text!r}") from None
