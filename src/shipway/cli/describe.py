"""``shipway describe KIND [NAME]`` (or ``KIND/NAME``): kubectl's describe, events at the end.

Sections as kubectl's generic describer prints a custom resource: ``Name``,
``Namespace``, ``Labels``, ``Annotations``, ``API Version``, ``Kind``, then
``Metadata`` (what else it holds), ``Spec``, ``Status`` and any other
top-level field, each key made a label as kubectl makes it (``repoURL`` →
``Repo URL``, ``apiVersion`` → ``API Version``), nested fields indented two
spaces, values aligned per block. Last come the object's ``Events`` from the
event store (Type, Reason, Age, From, Message; ``<none>`` without any).
``render`` and ``label`` are pure. Without NAME every object of KIND (``-l``
filters) is described, separated by a blank line, as kubectl does.
May touch: the store, read only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import click

from shipway.cli import scope
from shipway.model import events as ev
from shipway.model import kindnames, selectors
from shipway.model.resources import Resource

ACRONYMS = frozenset({"API", "URL", "UID", "OSB", "GUID", "ID", "IP", "TLS", "OCI", "SHA"})
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_TOP = ("metadata", "spec", "status")
_SHOWN_META = ("name", "namespace", "labels", "annotations")


def label(field: str) -> str:
    """kubectl's label of a field name: camelCase split into capitalised words."""
    if not field or any(not (c.isalpha() or c == "-") for c in field):
        return field
    parts = _WORDS.findall(field)
    if "".join(parts) != field:
        return field
    return " ".join(p.upper() if p.upper() in ACRONYMS else p[:1].upper() + p[1:] for p in parts)


def _scalar(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _block(data: Mapping[str, Any], level: int, lines: list[str]) -> None:
    """A map's fields at ``level`` (two spaces each), scalars aligned after their labels."""
    scalars = [k for k, v in data.items() if not isinstance(v, Mapping | list)]
    width = max((len(label(str(k))) for k in scalars), default=0) + 1
    pad = "  " * level
    for key, value in data.items():
        name = label(str(key))
        if isinstance(value, Mapping):
            if not value:
                continue
            lines.append(f"{pad}{name}:")
            _block(value, level + 1, lines)
        elif isinstance(value, list):
            if not value:
                continue
            lines.append(f"{pad}{name}:")
            _items(value, level + 1, lines)
        else:
            lines.append(f"{pad}{(name + ':').ljust(width)}  {_scalar(value)}".rstrip())


def _items(values: Sequence[Any], level: int, lines: list[str]) -> None:
    for item in values:
        if isinstance(item, Mapping):
            _block(item, level, lines)
        elif isinstance(item, list):
            _items(item, level + 1, lines)
        else:
            lines.append(f"{'  ' * level}{_scalar(item)}")


def _pairs(title: str, values: Mapping[str, Any], width: int) -> list[str]:
    head = f"{title}:".ljust(width)
    if not values:
        return [f"{head}<none>"]
    rows = [f"{k}={v}" for k, v in sorted(values.items())]
    return [f"{head}{rows[0]}", *[" " * width + r for r in rows[1:]]]


def render(obj: Mapping[str, Any], events: Sequence[ev.Event], at: dt.datetime) -> str:
    """The describe text of ``obj`` (as ``-o json`` prints it) and its ``events``."""
    meta = dict(obj.get("metadata") or {})
    width = len("Annotations:") + 2
    lines = [f"{'Name:'.ljust(width)}{meta.get('name', '')}"]
    if "namespace" in meta:
        lines.append(f"{'Namespace:'.ljust(width)}{meta.get('namespace') or ''}")
    lines += _pairs("Labels", meta.get("labels") or {}, width)
    lines += _pairs("Annotations", meta.get("annotations") or {}, width)
    lines.append(f"{'API Version:'.ljust(width)}{obj.get('apiVersion', '')}")
    lines.append(f"{'Kind:'.ljust(width)}{obj.get('kind', '')}")
    rest_meta = {k: v for k, v in meta.items() if k not in _SHOWN_META}
    sections: list[tuple[str, Any]] = [("metadata", rest_meta)]
    sections += [(k, obj[k]) for k in ("spec", "status") if k in obj]
    sections += [(k, v) for k, v in obj.items() if k not in (*_TOP, "apiVersion", "kind")]
    for key, value in sections:
        if isinstance(value, Mapping):
            if value:
                lines.append(f"{label(key)}:")
                _block(value, 1, lines)
        elif isinstance(value, list):
            if value:
                lines.append(f"{label(key)}:")
                _items(value, 1, lines)
        else:
            lines.append(f"{(label(key) + ':').ljust(width)}{_scalar(value)}")
    lines += event_lines(events, at)
    return "\n".join(lines)


def event_lines(events: Sequence[ev.Event], at: dt.datetime) -> list[str]:
    """kubectl describe's Events block: a dashed header, oldest first; ``<none>`` when empty."""
    if not events:
        return ["Events:       <none>"]
    rows = [["Type", "Reason", "Age", "From", "Message"],
            ["----", "------", "----", "----", "-------"]]  # fmt: skip
    rows += [[e.type, e.reason, ev.last_seen(e, at), e.source, e.message] for e in events]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out_lines = ["Events:"]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:4], widths, strict=True)]
        out_lines.append(("  " + "  ".join([*cells, r[4]])).rstrip())
    return out_lines


def _events_of(ctx: click.Context, res: Resource) -> list[ev.Event]:
    from shipway.cli.context import reader_from
    from shipway.store import reads

    found = reads.list_events(reader_from(ctx), namespace=res.namespace or None, kind=res.kind,
                              name=res.name, limit=100, newest=True)  # fmt: skip
    return sorted(found, key=lambda e: (e.last or e.first, e.seq))


@click.command()
@scope.kind_form
@click.pass_context
def describe(
    ctx: click.Context,
    kind: str,
    name: str | None,
    namespace: str | None,
    all_namespaces: bool,
    selector: str | None,
) -> None:
    """Show an object in detail, its events at the end (as kubectl describe)."""
    from shipway.cli.context import reader_from
    from shipway.cli.resources import find_one, listed

    if name is None and "/" in kind:
        kind, _, name = kind.partition("/")
    canonical = kindnames.canonical_kind(kind)
    if name:
        found = [find_one(ctx, canonical, name, namespace or None)]
    else:
        reader_from(ctx)  # the schema check, before listing
        wanted = selectors.matcher(selector)
        found = [r for r in listed(ctx, canonical, namespace or None, all_namespaces)
                 if wanted(r.labels)]  # fmt: skip
        if not found:
            where = f" in {namespace} namespace" if namespace else ""
            click.echo(f"No resources found{where}.", err=True)
            return
    at = dt.datetime.now(dt.UTC)
    texts = [render(r.to_object(), _events_of(ctx, r), at) for r in found]
    click.echo("\n\n\n".join(texts))
