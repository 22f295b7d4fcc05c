"""Evaluate an EventListener's triggers for one event, as Tekton Triggers' sink does.

For each trigger: its interceptors in order (``github``/``gitlab``: the
event's ``X-GitHub-Event``/``X-Gitlab-Event`` header in ``eventTypes``;
``cel``: ``filter`` must be true, each ``overlays`` entry adds
``extensions.<key>``); then its bindings' params (TriggerBindings and
ClusterTriggerBindings by ``ref``, or ``name``/``value`` in place; later ones
win) with ``$(body.a.b[0])``, ``$(header.X-Name)``, ``$(extensions.k)``
replaced (objects and lists as JSON, as Tekton does); then its TriggerTemplate's
params (a binding's value, else the default) replaced in every resource
template as ``$(tt.params.x)``, ``generateName`` given its random suffix and
Tekton's ``triggers.tekton.dev/*`` labels set. CEL is Google's (``celpy``)
with Tekton's ``header.match``, ``header.canonical``, ``truncate``, ``split``,
``parseJSON``, ``marshalJSON`` and ``last``. A trigger that fails (a missing
field, an unknown binding or template) is a ``Fired`` with ``error`` set. Pure:
data in, data out.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shipway.model.tekton_triggers import EXPR, TT_PARAM, cel_ast, interceptor_of

Lookup = Callable[[str, str], dict[str, Any] | None]  # (kind, name) -> spec


@dataclass(frozen=True)
class Event:
    body: Mapping[str, Any]
    headers: Mapping[str, str]  # one value per header (Tekton joins repeated ones)
    url: str = "/"


@dataclass
class Fired:
    """A trigger that passed its interceptors: the runs it makes, or why it could not."""

    trigger: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


@lru_cache(maxsize=256)
def compile_cel(text: str) -> Any:
    """The CEL program of ``text`` with Tekton's functions; ``ValueError`` for bad syntax."""
    import celpy

    return celpy.Environment().program(cel_ast(text), functions=_functions())


def _functions() -> dict[str, Any]:
    from celpy import celtypes
    from celpy.adapter import json_to_cel

    def header_get(h: Any, name: Any) -> str:
        wanted = str(name).lower()
        for k, v in h.items():
            if str(k).lower() == wanted:
                return ",".join(str(x) for x in v) if isinstance(v, list) else str(v)
        return ""

    def match(h: Any, name: Any, value: Any) -> Any:
        return celtypes.BoolType(header_get(h, name) == str(value))

    def canonical(h: Any, name: Any) -> Any:
        return celtypes.StringType(header_get(h, name))

    def truncate(s: Any, n: Any) -> Any:
        return celtypes.StringType(str(s)[: int(n)])

    def split(s: Any, sep: Any) -> Any:
        return celtypes.ListType([celtypes.StringType(p) for p in str(s).split(str(sep))])

    def parse_json(s: Any) -> Any:
        return json_to_cel(json.loads(str(s)))

    def marshal_json(v: Any) -> Any:
        return celtypes.StringType(json.dumps(to_json(v), separators=(",", ":")))

    def last(v: Any) -> Any:
        return v[-1]

    return {"match": match, "canonical": canonical, "truncate": truncate, "split": split,
            "parseJSON": parse_json, "marshalJSON": marshal_json, "last": last}  # fmt: skip


def to_json(value: Any) -> Any:
    """A CEL value as plain JSON data."""
    from celpy import celtypes

    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return None if value is None else str(value)


def cel(text: str, event: Event, extensions: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` on the event; ``ValueError`` when it cannot (a missing field)."""
    from celpy.adapter import json_to_cel
    from celpy.evaluation import CELEvalError

    headers = {k: [v] for k, v in event.headers.items()}
    activation = {"body": json_to_cel(dict(event.body)), "header": json_to_cel(headers),
                  "extensions": json_to_cel(dict(extensions)),
                  "requestURL": json_to_cel(event.url)}  # fmt: skip
    try:
        out = compile_cel(text).evaluate(activation)
    except CELEvalError as exc:
        raise ValueError(f"{text}: {exc.args[0] if exc.args else exc}") from None
    if isinstance(out, CELEvalError):
        raise ValueError(f"{text}: {out.args[0] if out.args else out}")
    return out


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    for p in parts[:-1]:
        target = target.setdefault(p, {})
    target[parts[-1]] = value


def intercept(interceptors: list[dict[str, Any]], event: Event) -> tuple[bool, dict[str, Any], str]:
    """(passes, extensions, why not) after the trigger's interceptors."""
    ext: dict[str, Any] = {}
    for icpt in interceptors:
        name, params = interceptor_of(icpt)
        if name in ("github", "gitlab"):
            header = "X-GitHub-Event" if name == "github" else "X-Gitlab-Event"
            got = _header(event, header)
            types = params.get("eventTypes")
            if types is not None and got not in types:
                return False, ext, f"{name}: event type {got!r} is not allowed"
            continue
        try:
            if params.get("filter"):
                kept = cel(str(params["filter"]), event, ext)
                if not isinstance(kept, int) or not bool(kept):
                    return False, ext, f"cel: expression {params['filter']} did not return true"
            for o in params.get("overlays") or []:
                _set(ext, str(o["key"]), to_json(cel(str(o["expression"]), event, ext)))
        except ValueError as exc:
            return False, ext, f"cel: {exc}"
    return True, ext, ""


def _header(event: Event, name: str) -> str:
    return next((v for k, v in event.headers.items() if k.lower() == name.lower()), "")


_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def path_value(root: Any, path: str, expr: str) -> Any:
    """``a.b[0]['c.d']`` under ``root``; ``ValueError`` naming what is missing."""
    value = root
    pos = 0
    text = "." + path if path and path[0] not in ".[" else path
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            raise ValueError(f"$({expr}): cannot read {text[pos:]!r}")
        pos = m.end()
        key = next(g for g in m.groups() if g is not None)
        if m.group(2) is not None:
            if not isinstance(value, list) or int(key) >= len(value):
                raise ValueError(f"$({expr}): index {key} is out of range")
            value = value[int(key)]
        elif isinstance(value, Mapping) and key in value:
            value = value[key]
        else:
            raise ValueError(f"$({expr}): {key} is not found")
    return value


def resolve_value(text: str, event: Event, extensions: Mapping[str, Any]) -> str:
    """A binding's value with its ``$(body…)``/``$(header…)``/``$(extensions…)`` replaced."""

    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        root, _, rest = expr.partition(".")
        if "[" in root:
            root, rest = root[: root.index("[")], expr[root.index("[") :]
        if root == "header":
            if not rest:
                return json.dumps({k: [v] for k, v in event.headers.items()})
            return _header(event, rest)
        base: Any = event.body if root == "body" else extensions
        value = path_value(base, rest, expr) if rest else base
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return EXPR.sub(one, text)


def bind(trigger: dict[str, Any], lookup: Lookup, event: Event,
         extensions: Mapping[str, Any]) -> dict[str, str]:  # fmt: skip
    """The trigger's binding params (``ValueError`` for a missing binding or field)."""
    out: dict[str, str] = {}
    for b in trigger.get("bindings") or []:
        if b.get("ref"):
            kind = str(b.get("kind") or "TriggerBinding")
            spec = lookup(kind, str(b["ref"]))
            if spec is None:
                raise ValueError(f"{kind} {b['ref']!r} is not found")
            pairs = [(str(p["name"]), str(p["value"])) for p in spec.get("params") or []]
        else:
            pairs = [(str(b["name"]), str(b["value"]))]
        for name, value in pairs:
            try:
                out[name] = resolve_value(value, event, extensions)
            except ValueError as exc:
                raise ValueError(f"failed to replace JSONPath value for param {name}: "
                                 f"{exc}") from None  # fmt: skip
    return out


def _replace(value: Any, params: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return TT_PARAM.sub(lambda m: params.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_replace(v, params) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, params) for k, v in value.items()}
    return value


def render(template: dict[str, Any], given: Mapping[str, str], labels: Mapping[str, str],
           ) -> list[dict[str, Any]]:  # fmt: skip
    """The template's resources with its params replaced (``ValueError``: a param with no
    value and no default)."""
    params: dict[str, str] = {}
    for p in template.get("params") or []:
        name = str(p["name"])
        if name in given:
            params[name] = given[name]
        elif "default" in p:
            params[name] = str(p["default"])
        else:
            raise ValueError(f"param {name!r} of the template has no value and no default")
    out = []
    for res in template.get("resourcetemplates") or []:
        made = _replace(res, params)
        meta = dict(made.get("metadata") or {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta.pop('generateName')}{secrets.token_hex(3)[:5]}"
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
        made["metadata"] = meta
        out.append(made)
    return out


def fire(listener: str, spec: dict[str, Any], event: Event, lookup: Lookup) -> list[Fired]:
    """Every trigger of the EventListener ``spec`` that this event passes, with its runs."""
    event_id = secrets.token_hex(4)
    fired = []
    for i, trig in enumerate(spec.get("triggers") or []):
        name = str(trig.get("name") or f"trigger-{i}")
        ok, ext, _why = intercept(list(trig.get("interceptors") or []), event)
        if not ok:
            continue
        tmpl = trig.get("template") or {}
        ref = str(tmpl.get("ref") or tmpl.get("name") or "")
        template = tmpl.get("spec") or (lookup("TriggerTemplate", ref) if ref else None)
        if template is None:
            fired.append(Fired(name, error=f"TriggerTemplate {ref!r} is not found"))
            continue
        labels = {"triggers.tekton.dev/eventlistener": listener,
                  "triggers.tekton.dev/trigger": name,
                  "triggers.tekton.dev/eventid": event_id}  # fmt: skip
        try:
            fired.append(Fired(name, render(template, bind(trig, lookup, event, ext), labels)))
        except ValueError as exc:
            fired.append(Fired(name, error=str(exc)))
    return fired
