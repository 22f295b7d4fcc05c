"""``shipway get events``: the event stream as ``kubectl events`` shows it.

``[-n NS] [-A] [--for KIND/NAME] [--types Warning] [--field-selector F] [-l SEL]
[--sort-by P] [-w] -o table|wide|json|yaml|name|jsonpath=|custom-columns=``.
The table has LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (NAMESPACE first with
``-A``; ``wide`` adds SOURCE, FIRST SEEN, COUNT and RELEASE), oldest first as
kubectl sorts them (or by ``--sort-by``); ``-o json`` is a ``List`` of v1 Events
as ``kubectl get events`` prints it; ``--field-selector`` looks at any field of
an event as ``-o json`` shows it (``type=Warning``, ``involvedObject.name=web``,
``reason!=Synced``). Nothing found: nothing on stdout, ``No events found ...`` on
stderr, as kubectl. Without ``-n`` or ``-A``
every namespace is shown (shipway's namespaces are optional). ``--watch``
prints the rows, then each new or repeated event as it lands, woken by the
source's change signal (``shipway.cli.changes``: the controller's event
stream, the SQLite store's ``data_version``, the newest ``seq``), at most
``changes.fallback()`` seconds apart, until interrupted. Reads the
local store, or the controller's ``/api/events`` when logged in.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from shipway.cli.complete import namespace_names
from shipway.cli.output import (
    field_selector_option,
    no_headers_option,
    output_option,
    selector_option,
    sort_by_option,
)
from shipway.model import events as ev

if TYPE_CHECKING:
    from shipway.cli.changes import Feed


def _rows(found: list[ev.Event], wide: bool, all_ns: bool, at: dt.datetime) -> list[list[str]]:
    rows = []
    for e in found:
        row = [ev.last_seen(e, at), e.type, e.reason, ev.object_ref(e), e.message]
        if all_ns:
            row.insert(0, e.involved.namespace)
        if wide:
            first = ev.short_age((at - e.first).total_seconds())
            row += [e.source, first, str(e.count), e.release_id]
        rows.append(row)
    return rows


def _headers(wide: bool, all_ns: bool) -> list[str]:
    h = ["last seen", "type", "reason", "object", "message"]
    if all_ns:
        h.insert(0, "namespace")
    if wide:
        h += ["source", "first seen", "count", "release"]
    return h


def _print(found: list[ev.Event], output: str, all_ns: bool, header: bool,
           no_headers: bool = False) -> None:  # fmt: skip
    from shipway.cli import output as out

    if output == "json":
        click.echo(json.dumps(_listing(found), indent=2))
        return
    if output == "name":
        for e in found:
            click.echo(f"event/{e.name}")
        return
    if output not in ("table", "wide"):
        data = _listing(found)
        if output.startswith("custom-columns"):
            out.emit_list(data["items"], output, no_headers or not header)
        else:
            out.emit(data, output)
        return
    rows = _rows(found, output == "wide", all_ns, dt.datetime.now(dt.UTC))
    if header:  # fitted to the terminal, except ``-o wide`` (never shortened, as elsewhere)
        out.emit_table(_headers(output == "wide", all_ns), rows, no_headers,
                       fit=output == "table")  # fmt: skip
    else:  # watch: one line per event, columns as wide as the header's
        for row in rows:
            click.echo("   ".join(row))


def _listing(found: list[ev.Event]) -> dict[str, Any]:
    """``kubectl get events -o json``: a ``List`` (the API's ``EventList``, kind renamed)."""
    return {**ev.event_list(found), "kind": "List"}


class Filters:
    """``--field-selector``, ``-l`` and ``--sort-by`` over events as ``-o json`` shows them."""

    def __init__(self, field_selector: str | None = None, selector: str | None = None,
                 sort_by: str | None = None) -> None:  # fmt: skip
        from shipway.model import selectors

        self.fields = selectors.field_matcher(field_selector) if field_selector else None
        self.labels = selectors.matcher(selector) if selector else None
        self.sort_by = sort_by

    def apply(self, found: list[ev.Event]) -> list[ev.Event]:
        """``found`` (oldest first) kept by the selectors, ordered by ``--sort-by``."""
        found = sorted(found, key=lambda e: (e.last or e.first, e.seq))
        if self.fields is None and self.labels is None and not self.sort_by:
            return found
        pairs = [(e, e.to_dict()) for e in found]
        if self.fields is not None:
            pairs = [(e, d) for e, d in pairs if self.fields(d)]
        if self.labels is not None:
            pairs = [(e, d) for e, d in pairs if self.labels(d["metadata"].get("labels") or {})]
        if self.sort_by:
            from shipway.cli import printers

            order = printers.sort_order([d for _, d in pairs], self.sort_by)
            pairs = [pairs[n] for n in order]
        return [e for e, _ in pairs]


def show(
    ctx: click.Context,
    namespace: str | None,
    all_namespaces: bool,
    for_: str | None,
    types: tuple[str, ...],
    watch: bool,
    output: str,
    limit: int = 1000,
    fallback: float | None = None,
    no_headers: bool = False,
    filters: Filters | None = None,
) -> None:
    """Print events (and with ``watch`` keep printing new ones)."""
    from shipway.model.errors import InputError

    keep = (filters or Filters()).apply
    kind, name = ev.parse_for(for_) if for_ else (None, None)
    wanted = [t.capitalize() for part in types for t in part.split(",") if t]
    for t in wanted:
        if t not in ev.TYPES:
            raise InputError(f"--types {t!r}: expected Normal or Warning", subject="--types")
    ns = None if all_namespaces else namespace
    fetch = _source(ctx, ns, kind, name, wanted)
    feed = _feed(ctx) if watch else None  # before the first fetch: nothing slips between
    fetched = fetch(0, limit)
    found = keep(fetched)
    if found or output not in ("table", "wide"):
        _print(found, output, all_namespaces, header=True, no_headers=no_headers)
    elif not watch:  # kubectl: no header, a line on stderr
        where = f"in {ns} namespace" if ns else "in any namespace"
        click.echo(f"No events found {where}.", err=True)
    if feed is None:
        return
    cursor = max((e.seq for e in fetched), default=0) or _newest(ctx)
    if fallback is None:
        from shipway.cli.changes import fallback as bound

        fallback = bound()
    try:
        while True:
            feed.wait(fallback)
            new = fetch(cursor, limit)
            if new:
                cursor = max(e.seq for e in new)
                shown = keep(new)
                if shown:
                    _print(shown, output, all_namespaces, header=False)
    except KeyboardInterrupt:  # Ctrl-C ends a watch: exit 0, as kubectl
        return
    finally:
        feed.close()


def _feed(ctx: click.Context) -> Feed:
    from shipway.cli import changes

    return changes.feed_for(ctx)


def _newest(ctx: click.Context) -> int:
    from shipway.cli import remote

    if remote.target(ctx) is not None:
        return 0
    from shipway.cli.context import reader_from
    from shipway.store import reads

    return reads.last_event_seq(reader_from(ctx))


def _source(ctx: click.Context, ns: str | None, kind: str | None, name: str | None,
            types: list[str]) -> Any:  # fmt: skip
    """``fetch(after, limit) -> events``: from the local store or the controller."""
    from shipway.cli import remote

    target = remote.target(ctx)
    if target is not None:

        def fetch_remote(after: int, limit: int) -> list[ev.Event]:
            params: dict[str, Any] = {"limit": limit, "types": ",".join(types) or "Normal,Warning"}
            if ns is not None:
                params["namespace"] = ns
            if kind and name:
                params["for"] = f"{kind}/{name}"
            items = remote.get_json(target, "/api/events", **params).get("items", [])
            return [e for e in (_from_dict(i) for i in items) if e.seq > after]

        return fetch_remote
    from shipway.cli.context import reader_from
    from shipway.store import reads

    reader = reader_from(ctx)  # the store read as it is (never migrated; no SQLAlchemy on SQLite)

    def fetch_local(after: int, limit: int) -> list[ev.Event]:
        return reads.list_events(reader, namespace=ns, kind=kind, name=name, types=types,
                                 after=after, limit=limit, newest=after == 0)  # fmt: skip

    return fetch_local


def _from_dict(d: dict[str, Any]) -> ev.Event:
    o = d.get("involvedObject") or {}

    def t(v: Any) -> dt.datetime:
        return dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))

    ref = ev.ObjectRef(o.get("kind", ""), o.get("name", ""), o.get("namespace", ""),
                       o.get("apiVersion", ""), o.get("uid", ""))  # fmt: skip
    name = str((d.get("metadata") or {}).get("name", ""))
    row_id = int(name.rsplit(".", 1)[-1], 16) if "." in name else 0
    return ev.Event(ref, d["reason"], d.get("message", ""), d.get("type", ev.NORMAL),
                    d.get("releaseId", ""), (d.get("source") or {}).get("component", ""),
                    first=t(d["firstTimestamp"]), last=t(d["lastTimestamp"]),
                    count=int(d.get("count", 1)),
                    seq=int((d.get("metadata") or {}).get("resourceVersion", 0)),
                    id=row_id)  # fmt: skip


@click.command("events")
@click.option("-n", "--namespace", default=None, help="Only events of objects in this namespace.",
              shell_complete=namespace_names)  # fmt: skip
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (a NAMESPACE column).")
@click.option("--for", "for_", default=None, metavar="KIND/NAME", help="Only events about it.")
@click.option("--types", multiple=True, help="Normal, Warning (repeat or comma-separate).")
@click.option("-w", "--watch", is_flag=True, help="Keep printing new events.")
@output_option
@no_headers_option
@field_selector_option
@selector_option
@sort_by_option
@click.option("--limit", default=1000, show_default=True, help="At most this many (the newest).")
@click.pass_context
def events(
    ctx: click.Context,
    namespace: str | None,
    all_namespaces: bool,
    for_: str | None,
    types: tuple[str, ...],
    watch: bool,
    output: str,
    no_headers: bool,
    field_selector: str | None,
    selector: str | None,
    sort_by: str | None,
    limit: int,
) -> None:
    """Show events (as kubectl events)."""
    filters = Filters(field_selector, selector, sort_by)
    show(ctx, namespace, all_namespaces, for_, types, watch, output, limit,
         no_headers=no_headers, filters=filters)  # fmt: skip
