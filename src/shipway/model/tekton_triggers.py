"""Tekton Triggers' kinds (``triggers.tekton.dev``), checked strictly as the API does.

TriggerTemplate, TriggerBinding, ClusterTriggerBinding, EventListener and
Trigger (``v1beta1``), ClusterInterceptor and Interceptor (``v1alpha1``) are
stored with ``shipway apply`` (``shipway.model.resources`` calls
``problems``); this module is the fields of each (the ``tekton.schema``
walker) and the checks Tekton's webhook makes beyond the fields: a template's
``$(tt.params.x)`` names a declared param, its resource templates are
PipelineRuns or TaskRuns (the kinds shipway runs), a binding's value is a
``$(body.…)``/``$(header.…)``/``$(extensions.…)`` expression or text, an
EventListener trigger is a template or a ``triggerRef`` (not both), a
trigger group has interceptors and a selector, an interceptor is one shipway
serves (``cel``, ``github``, ``gitlab``, ``bitbucket``, a ``webhook`` to a
Service or URL, or a ``ref`` with ``kind`` to a ClusterInterceptor or
Interceptor) with the params it reads, and every CEL expression compiles.
Tekton takes any other ``ref.name`` as a ClusterInterceptor; shipway refuses a
name it does not serve unless ``ref.kind`` says it is one (a misspelt
``gihub`` would otherwise pass until an event came). Pure: data in, problems
out as ``(path, message)``; evaluating a trigger is ``ci.tekton.trigger_eval``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from collections.abc import Iterator
from typing import Any

from shipway.model.fields import ANY, BOOL, INT, STR, STRMAP, Enum, ListOf, Path, check, dotted

API_VERSION = "triggers.tekton.dev/v1beta1"
KINDS = ("TriggerTemplate", "TriggerBinding", "ClusterTriggerBinding", "EventListener",
         "Trigger", "ClusterInterceptor", "Interceptor")  # fmt: skip
BUILTIN = ("cel", "github", "gitlab", "bitbucket")
"""The interceptors shipway runs itself (Tekton's core ClusterInterceptors but ``slack``)."""
INTERCEPTOR_KINDS = ("ClusterInterceptor", "NamespacedInterceptor")
RUN_KINDS = ("PipelineRun", "TaskRun")

_PARAM_SPEC = {"name!": STR, "description": STR, "default": STR}
TEMPLATE_SPEC = {"params": ListOf(_PARAM_SPEC), "resourcetemplates!": ListOf(ANY)}
BINDING_SPEC = {"params": ListOf({"name!": STR, "value!": STR})}
_BINDING_REF = {"name": STR, "value": STR, "ref": STR, "apiversion": STR,
                "kind": Enum("TriggerBinding", "ClusterTriggerBinding")}  # fmt: skip
_TEMPLATE_REF = {"ref": STR, "name": STR, "apiversion": STR, "spec": TEMPLATE_SPEC}
_OVERLAY = {"key!": STR, "expression!": STR}
_SECRET_REF = {"secretName": STR, "secretKey": STR}
_FORGE = {"secretRef": _SECRET_REF, "eventTypes": ListOf(STR),
          "addChangedFiles": {"enabled": BOOL, "personalAccessToken": _SECRET_REF}}  # fmt: skip
_OBJECT_REF = {"kind": STR, "name": STR, "namespace": STR, "apiVersion": STR, "uid": STR,
               "resourceVersion": STR, "fieldPath": STR}  # fmt: skip
WEBHOOK = {"objectRef": _OBJECT_REF, "url": STR, "header": ListOf({"name!": STR, "value!": ANY})}
INTERCEPTOR = {"name": STR, "params": ListOf({"name!": STR, "value!": ANY}), "webhook": WEBHOOK,
               "ref": {"name": STR, "kind": Enum(*INTERCEPTOR_KINDS), "apiVersion": STR},
               # v1alpha1's forms, still read by v1beta1
               "cel": {"filter": STR, "overlays": ListOf(_OVERLAY)},
               "github": _FORGE, "gitlab": _FORGE, "bitbucket": _FORGE}  # fmt: skip
TRIGGER = {"name": STR, "bindings": ListOf(_BINDING_REF), "template": _TEMPLATE_REF,
           "interceptors": ListOf(INTERCEPTOR), "triggerRef": STR,
           "serviceAccountName": STR}  # fmt: skip
TRIGGER_SPEC = {"name": STR, "bindings": ListOf(_BINDING_REF),
                "template!": {"ref": STR, "apiversion": STR, "spec": TEMPLATE_SPEC},
                "interceptors": ListOf(INTERCEPTOR), "serviceAccountName": STR}  # fmt: skip
_NAMESPACES = {"matchNames": ListOf(STR)}
LABEL_SELECTOR = {"matchLabels": STRMAP, "matchExpressions": ListOf({
    "key!": STR, "operator!": Enum("In", "NotIn", "Exists", "DoesNotExist"),
    "values": ListOf(STR)})}  # fmt: skip
_GROUP = {"name": STR, "interceptors!": ListOf(INTERCEPTOR),
          "triggerSelector!": {"namespaceSelector": _NAMESPACES,
                               "labelSelector": LABEL_SELECTOR}}  # fmt: skip
EVENT_LISTENER_SPEC = {"triggers": ListOf(TRIGGER), "serviceAccountName": STR,
                       "namespaceSelector": _NAMESPACES, "labelSelector": LABEL_SELECTOR,
                       "resources": ANY, "triggerGroups": ListOf(_GROUP),
                       "cloudEventURI": STR}  # fmt: skip
INTERCEPTOR_SPEC = {"clientConfig!": {"url": STR, "caBundle": STR, "service": {
    "name!": STR, "namespace!": STR, "path": STR, "port": INT}}}  # fmt: skip
SPECS = {"TriggerTemplate": TEMPLATE_SPEC, "TriggerBinding": BINDING_SPEC,
         "ClusterTriggerBinding": BINDING_SPEC, "EventListener": EVENT_LISTENER_SPEC,
         "Trigger": TRIGGER_SPEC, "ClusterInterceptor": INTERCEPTOR_SPEC,
         "Interceptor": INTERCEPTOR_SPEC}  # fmt: skip

TT_PARAM = re.compile(r"\$\(tt\.params\.([A-Za-z0-9_.-]+)\)")
OLD_PARAM = re.compile(r"\$\(params\.([A-Za-z0-9_.-]+)\)")
EXPR = re.compile(r"\$\(([^()]*)\)")
_ROOTS = ("body", "header", "extensions")


def problems(kind: str, spec: Any) -> Iterator[tuple[Path, str]]:
    """Every problem of ``spec`` (the object's ``spec``, path from ``spec``): its fields',
    then the deeper checks' of the parts whose fields are right."""
    found = list(check(spec, SPECS[kind], ("spec",)))
    yield from found
    if not isinstance(spec, dict):
        return
    bad = [path for path, _ in found]
    deeper: list[tuple[Path, str]] = []
    # a part whose fields are wrong may stop these; its problems are said above
    with contextlib.suppress(KeyError, TypeError, AttributeError, IndexError):
        deeper += _deeper(kind, spec)
    for path, msg in deeper:
        if not any(path[: len(b)] == b for b in bad):
            yield path, msg


def _deeper(kind: str, spec: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    if kind == "TriggerTemplate":
        yield from template_problems(spec, ("spec",))
    elif kind == "EventListener":
        yield from _listener(spec)
    elif kind == "Trigger":
        yield from _trigger(spec, ("spec",), referred=False)
    elif kind in ("ClusterInterceptor", "Interceptor"):
        client = spec["clientConfig"]
        if not client.get("url") and not client.get("service"):
            yield ("spec", "clientConfig"), "spec.clientConfig: give url or service"
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
    if not any(spec.get(k) for k in ("triggers", "triggerGroups", "namespaceSelector",
                                     "labelSelector")):  # fmt: skip
        yield (
            ("spec",),
            (
                "expected exactly one, got neither: spec.labelSelector, "
                "spec.namespaceSelector, spec.triggerGroups, spec.triggers"
            ),
        )
    for t, trig in enumerate(spec.get("triggers") or []):
        at: Path = ("spec", "triggers", t)
        if trig.get("triggerRef"):
            both = [k for k in ("template", "bindings", "interceptors") if k in trig]
            if both:
                yield at, (f"{dotted(at)}: expected exactly one, got both: triggerRef, "
                           f"{', '.join(both)} (a triggerRef's Trigger has its own)")  # fmt: skip
            continue
        yield from _trigger(trig, at, referred=True)
    for g, group in enumerate(spec.get("triggerGroups") or []):
        at = ("spec", "triggerGroups", g)
        chosen = group["triggerSelector"]
        if "labelSelector" not in chosen and not (chosen.get("namespaceSelector") or {}).get(
                "matchNames"):  # fmt: skip
            sel = f"{dotted(at)}.triggerSelector"
            yield (
                (*at, "triggerSelector"),
                (
                    f"expected exactly one, got neither: "
                    f"{sel}.labelSelector, {sel}.namespaceSelector"
                ),
            )
        if not group["interceptors"]:
            yield (*at, "interceptors"), f"missing field(s): {dotted((*at, 'interceptors'))}"
        yield from _interceptors(group["interceptors"], (*at, "interceptors"))


def _trigger(trig: dict[str, Any], at: Path, referred: bool) -> Iterator[tuple[Path, str]]:
    """A trigger's template, bindings and interceptors (``referred``: an EventListener's
    trigger, which may also be a ``triggerRef``)."""
    tmpl = trig.get("template")
    if not tmpl or not (tmpl.get("ref") or tmpl.get("name") or tmpl.get("spec")):
        yield at, (f"expected exactly one, got neither: {dotted((*at, 'template'))}.ref, "
                   f"{dotted((*at, 'template'))}.spec"
                   + (f", {dotted((*at, 'triggerRef'))}" if referred else ""))  # fmt: skip
    elif tmpl.get("spec") and (tmpl.get("ref") or tmpl.get("name")):
        yield (*at, "template"), (f"expected exactly one, got both: "
                                  f"{dotted((*at, 'template'))}.spec, "
                                  f"{dotted((*at, 'template'))}.ref")  # fmt: skip
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
    yield from _interceptors(trig.get("interceptors") or [], (*at, "interceptors"))


def _interceptors(items: list[Any], at: Path) -> Iterator[tuple[Path, str]]:
    for i, icpt in enumerate(items):
        for path, expr in _interceptor(icpt, (*at, i)):
            if isinstance(expr, str):
                try:
                    cel_ast(expr)
                except ValueError as exc:
                    yield path, f"{dotted(path)}: CEL: {exc}"
            else:
                yield path, expr[0]


_OLD = ("cel", "github", "gitlab", "bitbucket")


def interceptor_of(icpt: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, params) of an interceptor in either form (``ref`` + ``params`` or v1alpha1's);
    ``name`` is the interceptor's (``ref.name``), not the entry's own ``name``."""
    for old in _OLD:
        if old in icpt:
            return old, dict(icpt[old] or {})
    name = str((icpt.get("ref") or {}).get("name") or "")
    return name, {str(p["name"]): p["value"] for p in icpt.get("params") or []}


def _param_path(icpt: dict[str, Any], name: str, at: Path) -> Path:
    """Where the interceptor's param ``name`` is written (either form)."""
    for old in _OLD:
        if old in icpt:
            return (*at, old, name) if name in (icpt[old] or {}) else (*at, old)
    for i, p in enumerate(icpt.get("params") or []):
        if p.get("name") == name:
            return (*at, "params", i, "value")
    return at


_NOT_SERVED = ("slack",)  # Tekton's core interceptors shipway does not run
_SERVED = (
    "cel, github, gitlab, bitbucket, webhook; an interceptor of your own is a "
    "ref with kind: ClusterInterceptor or NamespacedInterceptor"
)


def _webhook(hook: dict[str, Any], at: Path) -> Iterator[tuple[Path, str | tuple[str]]]:
    at = (*at, "webhook")
    ref = hook.get("objectRef")
    if not hook.get("url") and not ref:
        yield at, (f"missing field(s): {dotted((*at, 'objectRef'))} (or {dotted(at)}.url)",)
    if ref:
        if ref.get("kind") != "Service":
            yield (
                (*at, "objectRef", "kind"),
                (
                    f"invalid value: {ref.get('kind')!r}: "
                    f"{dotted(at)}.objectRef.kind (expected Service)",
                ),
            )
        if ref.get("apiVersion") != "v1":
            yield (
                (*at, "objectRef", "apiVersion"),
                (
                    f"invalid value: {ref.get('apiVersion')!r}: {dotted(at)}.objectRef.apiVersion "
                    "(expected v1)",
                ),
            )
        if not ref.get("name"):
            yield (*at, "objectRef"), (f"missing field(s): {dotted(at)}.objectRef.name",)
    for h, item in enumerate(hook.get("header") or []):
        where = (*at, "header", h)
        name = str(item["name"])
        if not name or "-".join(w.capitalize() for w in name.split("-")) != name:
            yield (*where, "name"), (f"invalid value: {name!r}: {dotted(where)}.name (a "
                                     "canonical header name, such as X-My-Header)",)  # fmt: skip
        value = item["value"]
        if not value or not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            yield (*where, "value"), (f"invalid value: {dotted(where)}.value (a non-empty "
                                      "string or list of strings)",)  # fmt: skip


def _interceptor(icpt: dict[str, Any], at: Path) -> Iterator[tuple[Path, str | tuple[str]]]:
    """(path, CEL text to compile) or (path, (problem,)) for one interceptor."""
    if icpt.get("webhook"):
        yield from _webhook(icpt["webhook"], at)
        return
    name, params = interceptor_of(icpt)
    ref = icpt.get("ref") or {}
    if not name:
        yield at, (f"missing field(s): {dotted((*at, 'ref', 'name'))} (or {dotted(at)}.webhook)",)
        return
    if name not in BUILTIN or (ref.get("kind") or "ClusterInterceptor") != "ClusterInterceptor":
        # As in Tekton, a ref without kind names a ClusterInterceptor (looked up when an
        # event comes); Tekton's own slack interceptor and near-misses of the built-in
        # names are refused here, so a typo such as `gihub` shows at apply time.
        near = difflib.get_close_matches(name, BUILTIN, n=1, cutoff=0.75)
        if not ref.get("kind") and (name in _NOT_SERVED or near):
            where = (*at, "ref", "name") if ref else at
            hint = f"did you mean {near[0]!r}? " if near else ""
            yield where, (f"{dotted(where)}: interceptor {name!r} is not served ({hint}one of: "
                          f"{_SERVED})",)  # fmt: skip
        return
    if name == "cel":
        for key in sorted(set(params) - {"filter", "overlays"}):
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
    allowed = {"eventTypes", "secretRef", *(["addChangedFiles"] if name == "github" else [])}
    for key in sorted(set(params) - allowed):
        if name == "github" and key == "githubOwners":  # Tekton's, not run here
            where = _param_path(icpt, key, at)
            yield where, (f"{dotted(where)}: the github interceptor's githubOwners is not "
                          "served here (it asks GitHub whether the sender is in an "
                          "organization; check body.sender.login with a cel filter "
                          "instead)",)  # fmt: skip
            continue
        yield at, (f"{dotted(at)}: {name} interceptor has no param {key!r}",)
    types = params.get("eventTypes")
    if types is not None and not (isinstance(types, list)
                                  and all(isinstance(x, str) for x in types)):  # fmt: skip
        yield (
            _param_path(icpt, "eventTypes", at),
            (
                f"{dotted(_param_path(icpt, 'eventTypes', at))}: {name} eventTypes must be a list "
                "of strings",
            ),
        )
    ref_value = params.get("secretRef")
    if ref_value is not None and not (
        isinstance(ref_value, dict)
        and isinstance(ref_value.get("secretName"), str)
        and isinstance(ref_value.get("secretKey"), str)
    ):
        where = _param_path(icpt, "secretRef", at)
        yield where, (f"{dotted(where)}: secretRef needs secretName and secretKey",)
    changed = params.get("addChangedFiles")
    if changed is not None and not (
        isinstance(changed, dict)
        and set(changed) <= {"enabled", "personalAccessToken"}
        and isinstance(changed.get("enabled", False), bool)
    ):
        where = _param_path(icpt, "addChangedFiles", at)
        yield where, (f"{dotted(where)}: addChangedFiles is enabled (a boolean) and "
                      "personalAccessToken (secretName and secretKey)",)  # fmt: skip


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
