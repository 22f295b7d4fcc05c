"""Evaluate an EventListener for one event, as Tekton Triggers' sink does.

The triggers an EventListener serves (``fire``): the Trigger objects its
``namespaceSelector``/``labelSelector`` select (``matchNames: ["*"]`` is every
namespace; a ``labelSelector`` alone, its own namespace), then its
``triggers`` (written in place, or ``triggerRef`` to a Trigger of its
namespace); each runs with no extensions. Then each of its ``triggerGroups``:
the group's interceptors run once, and the Triggers its ``triggerSelector``
selects run on what they made (body, headers and extensions).

One trigger: its interceptors in order (``ci.tekton.interceptors``), then its
bindings' params (TriggerBindings of the trigger's namespace and
ClusterTriggerBindings by ``ref``, or ``name``/``value`` in place; later ones
win) with ``$(body.a.b[0])``, ``$(header.X-Name)``, ``$(extensions.k)``
replaced from the interceptors' final body and headers (objects and lists as
JSON, as Tekton does); then its TriggerTemplate's params (a binding's value,
else the default) replaced in every resource template as ``$(tt.params.x)``,
``generateName`` given its random suffix and Tekton's ``triggers.tekton.dev/*``
labels set. A trigger that fails (a missing field, an unknown binding,
template, Trigger or interceptor) is a ``Fired`` with ``error`` set; one its
interceptors stop is not returned. Pure: data in, data out; the store,
Secrets and HTTP calls are the caller's ``Ports``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.ci.tekton import interceptors as icpts
from shipway.ci.tekton.interceptors import Chain, Context, Headers
from shipway.model.selectors import selector_matches
from shipway.model.tekton_triggers import EXPR, TT_PARAM


@dataclass(frozen=True)
class Event:
    body: Mapping[str, Any]
    headers: Mapping[str, str]  # one value per header (Tekton joins repeated ones)
    url: str = "/"
    raw: str | None = None
    """The body as the sender sent it (signatures are checked on it); ``None``: an event the
    controller made from a forge hook whose signature it checked."""


@dataclass(frozen=True)
class StoredTrigger:
    namespace: str
    name: str
    labels: Mapping[str, str]
    spec: dict[str, Any]


@dataclass(frozen=True)
class Ports(icpts.Ports):
    triggers: Callable[[str | None], list[StoredTrigger]] = lambda _ns: []
    """The Trigger objects of a namespace (``None``: of every namespace)."""


@dataclass
class Fired:
    """A trigger that passed its interceptors: the runs it makes, or why it could not."""

    trigger: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


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


def resolve_value(text: str, body: Any, headers: Headers, extensions: Mapping[str, Any]) -> str:
    """A binding's value with its ``$(body…)``/``$(header…)``/``$(extensions…)`` replaced."""

    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        root, _, rest = expr.partition(".")
        if "[" in root:
            root, rest = root[: root.index("[")], expr[root.index("[") :]
        if root == "header":
            if not rest:
                return json.dumps(headers)
            wanted = rest.lower()
            return next((",".join(v) for k, v in headers.items() if k.lower() == wanted), "")
        base: Any = body if root == "body" else extensions
        value = path_value(base, rest, expr) if rest else base
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return EXPR.sub(one, text)


def bind(trigger: dict[str, Any], namespace: str, ports: Ports, body: Any, headers: Headers,
         extensions: Mapping[str, Any]) -> dict[str, str]:  # fmt: skip
    """The trigger's binding params (``ValueError`` for a missing binding or field)."""
    out: dict[str, str] = {}
    for b in trigger.get("bindings") or []:
        if b.get("ref"):
            kind = str(b.get("kind") or "TriggerBinding")
            spec = ports.find(kind, str(b["ref"]), namespace)
            if spec is None:
                raise ValueError(f"{kind} {b['ref']!r} is not found")
            pairs = [(str(p["name"]), str(p["value"])) for p in spec.get("params") or []]
        else:
            pairs = [(str(b["name"]), str(b["value"]))]
        for name, value in pairs:
            try:
                out[name] = resolve_value(value, body, headers, extensions)
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


def select(namespaces: Mapping[str, Any] | None, labels: Mapping[str, Any] | None,
           own: str, ports: Ports) -> list[StoredTrigger]:  # fmt: skip
    """The Trigger objects a namespace selector and label selector pick, as Tekton's sink
    picks them (no namespaces and no labels: none)."""
    names = [str(n) for n in (namespaces or {}).get("matchNames") or []]
    if names == ["*"]:
        found = ports.triggers(None)
    elif names:
        found = [t for ns in names for t in ports.triggers(ns)]
    elif labels is not None:
        found = ports.triggers(own)
    else:
        return []
    return [t for t in found if selector_matches(labels, t.labels)]


def _in_place(trig: dict[str, Any], i: int, namespace: str) -> StoredTrigger:
    """An EventListener's trigger written in place, as the Trigger it stands for."""
    tmpl = dict(trig.get("template") or {})
    if tmpl.get("name") and not tmpl.get("ref"):  # v1alpha1's template.name
        tmpl["ref"] = tmpl.pop("name")
    spec = {"bindings": trig.get("bindings") or [], "template": tmpl,
            "interceptors": trig.get("interceptors") or []}  # fmt: skip
    return StoredTrigger(namespace, str(trig.get("name") or f"trigger-{i}"), {}, spec)


def _run(t: StoredTrigger, chain: Chain, listener: str, event: Event, event_id: str,
         ports: Ports) -> Fired | None:  # fmt: skip
    ctx = Context(event.url, event_id, f"namespaces/{t.namespace}/triggers/{t.name}",
                  t.namespace)  # fmt: skip
    out = icpts.run_chain(list(t.spec.get("interceptors") or []), chain, ctx, ports)
    if out.failed:
        return Fired(t.name, error=out.why)
    if not out.go:
        return None
    tmpl = t.spec.get("template") or {}
    ref = str(tmpl.get("ref") or "")
    template = tmpl.get("spec") or (ports.find("TriggerTemplate", ref, t.namespace)
                                    if ref else None)  # fmt: skip
    if template is None:
        return Fired(t.name, error=f"TriggerTemplate {ref!r} is not found")
    labels = {"triggers.tekton.dev/eventlistener": listener,
              "triggers.tekton.dev/trigger": t.name,
              "triggers.tekton.dev/eventid": event_id}  # fmt: skip
    try:
        body = json.loads(out.chain.body or "{}")
        given = bind(t.spec, t.namespace, ports, body, out.chain.header, out.chain.extensions)
        return Fired(t.name, render(template, given, labels))
    except ValueError as exc:
        return Fired(t.name, error=str(exc))


def _chain(body: str, header: Headers, ext: Mapping[str, Any], raw: bool) -> Chain:
    return Chain(body, {k: list(v) for k, v in header.items()}, json.loads(json.dumps(ext)), raw)


def fire(listener: str, namespace: str, spec: dict[str, Any], event: Event,
         ports: Ports) -> list[Fired]:  # fmt: skip
    """Every trigger of the EventListener ``namespace/listener`` that this event passes,
    with its runs."""
    event_id = secrets.token_hex(4)
    body = event.raw if event.raw is not None else json.dumps(dict(event.body))
    header: Headers = {k: [v] for k, v in event.headers.items()}
    raw = event.raw is not None
    todo = select(spec.get("namespaceSelector"), spec.get("labelSelector"), namespace, ports)
    fired: list[Fired] = []
    for i, trig in enumerate(spec.get("triggers") or []):
        if trig.get("template"):
            todo.append(_in_place(trig, i, namespace))
        elif trig.get("triggerRef"):
            ref = str(trig["triggerRef"])
            found = ports.find("Trigger", ref, namespace)
            if found is None:
                fired.append(Fired(ref, error=f"Trigger {namespace}/{ref} is not found"))
            else:
                todo.append(StoredTrigger(namespace, ref, {}, found))
    for t in todo:
        got = _run(t, _chain(body, header, {}, raw), listener, event, event_id, ports)
        fired += [got] if got is not None else []
    for g, group in enumerate(spec.get("triggerGroups") or []):
        name = str(group.get("name") or f"group-{g}")
        ctx = Context(event.url, event_id, f"namespaces/{namespace}/triggerGroups/{name}",
                      namespace)  # fmt: skip
        out = icpts.run_chain(list(group.get("interceptors") or []),
                              _chain(body, header, {}, raw), ctx, ports)  # fmt: skip
        if out.failed:
            fired.append(Fired(name, error=out.why))
        if not out.go:
            continue
        chosen = group.get("triggerSelector") or {}
        for t in select(chosen.get("namespaceSelector"), chosen.get("labelSelector"),
                        namespace, ports):  # fmt: skip
            c = out.chain
            got = _run(t, _chain(c.body, c.header, c.extensions, c.raw), listener, event,
                       event_id, ports)  # fmt: skip
            fired += [got] if got is not None else []
    return fired


def listener_interceptors(namespace: str, spec: dict[str, Any],
                          ports: Ports) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
    """(namespace, interceptor) of every interceptor an event to this EventListener may
    meet: its triggers', the Triggers it refers to or selects, its groups'."""
    out: list[tuple[str, dict[str, Any]]] = []
    triggers = select(spec.get("namespaceSelector"), spec.get("labelSelector"), namespace, ports)
    for trig in spec.get("triggers") or []:
        found = ports.find("Trigger", str(trig["triggerRef"]), namespace) if trig.get(
            "triggerRef") else None  # fmt: skip
        out += [(namespace, i) for i in (found or trig).get("interceptors") or []]
    for group in spec.get("triggerGroups") or []:
        out += [(namespace, i) for i in group.get("interceptors") or []]
        chosen = group.get("triggerSelector") or {}
        triggers += select(chosen.get("namespaceSelector"), chosen.get("labelSelector"),
                           namespace, ports)  # fmt: skip
    for t in triggers:
        out += [(t.namespace, i) for i in t.spec.get("interceptors") or []]
    return out
