"""``shipway get events``: the event stream as ``kubectl events`` shows it.

``[-n NS] [-A] [--for KIND/NAME] [--types Warning] [-w] -o table|wide|json|yaml``.
The table has LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (NAMESPACE first with
``-A``; ``wide`` adds SOURCE, FIRST SEEN, COUNT and RELEASE), oldest first as
kubectl sorts them; ``-o json`` is an ``EventList``. Without ``-n`` or ``-A``
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

from shipway.cli.output import no_headers_option, output_option
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
        click.echo(json.dumps(ev.event_list(found), indent=2))
        return
    if output == "name":
        for e in found:
            click.echo(f"event/{e.name}")
        return
    if output not in ("table", "wide"):
        data = ev.event_list(found)
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


def _sort(found: list[ev.Event]) -> list[ev.Event]:
    return sorted(found, key=lambda e: (e.last or e.first, e.seq))


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
) -> None:
    """Print events (and with ``watch`` keep printing new ones)."""
    from shipway.model.errors import InputError

    kind, name = ev.parse_for(for_) if for_ else (None, None)
    wanted = [t.capitalize() for part in types for t in part.split(",") if t]
    for t in wanted:
        if t not in ev.TYPES:
            raise InputError(f"--types {t!r}: expected Normal or Warning", subject="--types")
    ns = None if all_namespaces else namespace
    fetch = _source(ctx, ns, kind, name, wanted)
    feed = _feed(ctx) if watch else None  # before the first fetch: nothing slips between
    found = fetch(0, limit)
    if found or not watch:
        _print(_sort(found), output, all_namespaces, header=True, no_headers=no_headers)
    if not found and not watch and output in ("table", "wide"):
        where = f"in {ns} namespace" if ns else "in any namespace"
        click.echo(f"No events found {where}.", err=True)
    if feed is None:
        return
    cursor = max((e.seq for e in found), default=0) or _newest(ctx)
    if fallback is None:
        from shipway.cli.changes import fallback as bound

        fallback = bound()
    try:
        while True:
            feed.wait(fallback)
            new = fetch(cursor, limit)
            if new:
                _print(new, output, all_namespaces, header=False)
                cursor = max(e.seq for e in new)
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
    from shipway.cli.context import store_from
    from shipway.store import events as store_events

    return store_events.last_seq(store_from(ctx))


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
    from shipway.cli.context import store_from
    from shipway.store import events as store_events

    store = store_from(ctx)

    def fetch_local(after: int, limit: int) -> list[ev.Event]:
        return store_events.query(store, namespace=ns, kind=kind, name=name, types=types,
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
@click.option("-n", "--namespace", default=None, help="Only events of objects in this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (a NAMESPACE column).")
@click.option("--for", "for_", default=None, metavar="KIND/NAME", help="Only events about it.")
@click.option("--types", multiple=True, help="Normal, Warning (repeat or comma-separate).")
@click.option("-w", "--watch", is_flag=True, help="Keep printing new events.")
@output_option
@no_headers_option
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
    limit: int,
) -> None:
    """Show events (as kubectl events)."""
    show(ctx, namespace, all_namespaces, for_, types, watch, output, limit, no_headers=no_headers)
