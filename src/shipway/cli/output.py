"""Render results the way kubectl does: one module, commands hand it data.

``-o table|wide|json|yaml|name|jsonpath=T|jsonpath-file=F|jsonpath-as-json=T|
custom-columns=SPEC|custom-columns-file=F`` (``output_option``; a bad format or
template is kubectl's message, exit 2 as all bad input), ``--no-headers``,
``--sort-by`` (a JSONPath), ``--field-selector`` and ``-w/--watch``.

A command that lists calls ``report(items, output, table=..., name=..., data=...)``
(or ``watch(fetch, ...)``); one that shows one object calls ``emit(obj, output)``
and draws its own view when it returns False. ``-o json`` and ``-o yaml`` of a
list are a ``List`` object (``{"apiVersion": "v1", "kind": "List", "items": [...]}``),
as kubectl prints them.

Tables are kubectl's: upper-case headers, columns three spaces apart (at least
six wide with the gap), plain text. On a terminal (or with ``$COLUMNS`` set)
they fit its width by shortening the least important columns (from the right;
never NAME or NAMESPACE; ``-o wide`` is never shortened), and status cells are
coloured unless ``NO_COLOR`` is set (``SHIPWAY_COLOR=always|never`` overrides).
User text is never read as markup: stderr's rich console has markup off and
``error_line`` builds a ``Text``. Rich and YAML load only when used, click
(the option decorators, ``echo``) only once a command loaded it: the quick
reads (``shipway.cli.quick``) print through here without it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from shipway.cli import optspec, printers
from shipway.model.errors import ShipwayError

if TYPE_CHECKING:
    import click
    from rich.console import Console
    from rich.text import Text

    from shipway.cli.changes import Feed

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

FORMATS = ["table", "json", "yaml", "wide", "name", "jsonpath=", "jsonpath-file=",
           "jsonpath-as-json=", "custom-columns=", "custom-columns-file="]  # fmt: skip
"""What ``-o`` takes (those ending in ``=`` take a template or a file)."""

TableFn = Callable[[Sequence[T], bool], tuple[Sequence[str], Sequence[Sequence[Any]]]]
"""``table(items, wide) -> (headers, rows)``."""


class _Stderr:
    """A rich console on stderr (markup off), created on first use."""

    def __init__(self) -> None:
        self._console: Console | None = None

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, markup=False)
        self._console.print(*objects, **kwargs)


stderr = _Stderr()


def echo(text: str, nl: bool = True) -> None:
    """A line on stdout: ``click.echo`` once click is loaded (its test runner's streams, its
    ANSI stripping); before that, as it would (the quick reads never load click)."""
    if "click" in sys.modules:
        import click

        click.echo(text, nl=nl)
        return
    if "\x1b" in text and not sys.stdout.isatty():
        import re

        text = re.sub(r"\033\[[;?0-9]*[a-zA-Z]", "", text)
    sys.stdout.write(text + "\n" if nl else text)
    sys.stdout.flush()


def output_option(func: F) -> F:
    """The ``-o/--output`` option shared by every command that reports."""
    from shipway.cli.output_type import OutputType

    return optspec.click_option(optspec.OUTPUT, type=OutputType())(func)


def data_output_option(func: F) -> F:
    """``-o`` of a command whose output is not named objects (a report, an image's
    config): every format but ``name``, which gets kubectl's "unable to match a printer"
    before the command runs, rather than the command's table."""
    from shipway.cli.output_type import OutputType

    return optspec.click_option(optspec.OUTPUT, type=OutputType(names=False))(func)


def no_headers_option(func: F) -> F:
    """``--no-headers``: tables without their header line (kubectl's)."""
    return optspec.click_option(optspec.NO_HEADERS)(func)


def selector_option(func: F) -> F:
    """``-l/--selector``: kubectl's label selector (equality and set-based)."""
    return optspec.click_option(optspec.SELECTOR)(func)


def sort_by_option(func: F) -> F:
    """``--sort-by``: a JSONPath into each object (``.metadata.name``, ``{.status.phase}``)."""
    return optspec.click_option(optspec.SORT_BY)(func)


def field_selector_option(func: F) -> F:
    """``--field-selector``: ``path=value``, ``path!=value``, comma-joined (all must hold)."""
    return optspec.click_option(optspec.FIELD_SELECTOR)(func)


def watch_option(func: F) -> F:
    """``-w/--watch``: after the list, print objects as they change (Ctrl-C ends, exit 0)."""
    import click

    events = click.option(
        "--output-watch-events", "output_watch_events", is_flag=True,
        help="With --watch: each object as a watch event (ADDED, MODIFIED, DELETED).",
    )  # fmt: skip
    return click.option(
        "-w", "--watch", is_flag=True, help="After listing, print changed objects as they change."
    )(events(func))


def list_options(func: F) -> F:
    """``-o``, ``--no-headers``, ``--sort-by`` and ``--field-selector`` at once."""
    return output_option(no_headers_option(sort_by_option(field_selector_option(func))))


class Options(NamedTuple):
    """What the output options of a command asked for."""

    output: str = "table"
    no_headers: bool = False
    sort_by: str | None = None
    field_selector: str | None = None
    watch_events: bool = False

    @classmethod
    def of(cls, ctx: click.Context) -> Options:
        p = ctx.params
        return cls(str(p.get("output") or "table"), bool(p.get("no_headers")),
                   p.get("sort_by") or None, p.get("field_selector") or None,
                   bool(p.get("output_watch_events")))  # fmt: skip


# -- machine formats -------------------------------------------------------------------------


def _template(output: str) -> printers.Format | None:
    fmt = printers.parse_format(output)
    return printers.read_template(fmt) if fmt.kind in printers.TEMPLATE_FORMATS else None


def _custom_columns(fmt: printers.Format, objects: Sequence[Any], no_headers: bool) -> None:
    if fmt.kind == "custom-columns-file" or (fmt.kind == "custom-columns" and "\n" in fmt.template):
        columns = printers.custom_columns_file(fmt.template)
    else:
        columns = printers.custom_columns(fmt.template)
    lines = [] if no_headers else [[h for h, _ in columns]]
    lines += [[printers.column_value(p, obj) for _, p in columns] for obj in objects]
    for line in printers.render(lines, printers.widths(lines)):
        echo(line)


def _print_template(fmt: printers.Format, data: Any) -> None:
    from shipway.templates import jsonpath

    text = jsonpath.compile(fmt.template).execute(data, as_json=fmt.kind == "jsonpath-as-json")
    echo(text, nl=False)


def emit(data: Any, fmt: str, no_headers: bool = False,
         name: str | Callable[[Any], str] | None = None) -> bool:  # fmt: skip
    """Print one object in a machine format; False when the caller should draw its view.

    A list is printed as ``emit_list`` prints it (a ``List``). ``-o name`` prints the
    object's ``kind/name``, or ``name``'s (the kind word or a function, as ``report``'s)
    for data that is no API object; data with neither is refused (kubectl's message)."""
    if isinstance(data, list):
        return emit_list(data, fmt, no_headers, name=name)
    if fmt == "json":
        echo(json.dumps(data, indent=2, default=str))
        return True
    if fmt == "yaml":
        import yaml

        echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())
        return True
    if fmt == "name":
        echo(_named(data, name))
        return True
    template = _template(fmt)
    if template is None:
        return False
    if template.kind.startswith("custom-columns"):
        _custom_columns(template, [data], no_headers)
    else:
        _print_template(template, data)
    return True


def _object_name(data: Any) -> str | None:
    """``kind/name`` of an API object (``application/web``); None for other data."""
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return None
    kind, name = data.get("kind"), data["metadata"].get("name")
    return f"{str(kind).lower()}/{name}" if kind and name else None


def _named(data: Any, name: str | Callable[[Any], str] | None) -> str:
    """``-o name``'s line for ``data``: its ``kind/name``, else ``name``'s; else refused."""
    word = _object_name(data)
    if word is None and name is not None:
        word = _name_of(name, data)
    if word is None:
        raise printers.without_names("name")
    return word


def listing(items: list[Any]) -> dict[str, Any]:
    """kubectl's ``List`` of ``items``."""
    return printers.data_of(items)


def emit_list(items: list[Any], fmt: str, no_headers: bool = False,
              name: str | Callable[[Any], str] | None = None) -> bool:  # fmt: skip
    """``emit`` for a list: ``-o json|yaml`` print a ``List``, templates run on it,
    ``-o name`` prints each item's name."""
    if fmt == "name":
        for line in [_named(i, name) for i in items]:  # all checked before any is printed
            echo(line)
        return True
    template = _template(fmt) if fmt not in ("json", "yaml") else None
    if template is not None and template.kind.startswith("custom-columns"):
        _custom_columns(template, items, no_headers)
        return True
    return emit(listing(items), fmt, no_headers)


# -- reporting lists -------------------------------------------------------------------------


def _name_of(kind: str | Callable[[Any], str], obj: Any) -> str:
    """``kind/NAME``: ``metadata.name``, else the record's ``id`` or ``name``."""
    if callable(kind):
        return kind(obj)
    if not isinstance(obj, dict):
        return f"{kind}/{obj}"
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    for key in ("id", "name"):
        if name is None:
            name = obj.get(key)
    return f"{kind}/{name if name is not None else ''}"


def select(items: Sequence[T], opts: Options, data: Callable[[T], Any]) -> list[T]:
    """``items`` kept by ``--field-selector`` and ordered by ``--sort-by``."""
    from shipway.model import selectors

    kept = list(items)
    if opts.field_selector:
        wanted = selectors.field_matcher(opts.field_selector)
        kept = [i for i in kept if wanted(data(i))]
    if opts.sort_by:
        order = printers.sort_order([data(i) for i in kept], opts.sort_by)
        kept = [kept[n] for n in order]
    return kept


def _identity(x: Any) -> Any:
    return x


def report(
    items: Sequence[T],
    opts: Options | str,
    *,
    table: TableFn[T],
    name: str | Callable[[Any], str],
    data: Callable[[T], Any] = _identity,
    empty: str | None = None,
) -> None:
    """Print a list in ``opts.output``'s format, filtered and sorted as ``opts`` say.

    ``empty``: when nothing is left, the table is this line on stderr and no header
    (kubectl's ``No resources found in NS namespace.``); without it, the bare header.

    ``table(items, wide)`` gives headers and rows; ``name`` is the kind word of
    ``-o name`` (``application`` → ``application/NAME``, the name from the
    object's ``metadata.name`` or ``id``) or a function of the object; ``data``
    turns an item into the object that ``-o json`` prints and paths look into.
    """
    if isinstance(opts, str):
        opts = Options(opts)
    kept = select(items, opts, data)
    if opts.output in ("table", "wide") and not kept and empty is not None:
        sys.stdout.flush()
        sys.stderr.write(empty + "\n")
        sys.stderr.flush()
        return
    if opts.output in ("table", "wide"):
        heads, rows = table(kept, opts.output == "wide")
        emit_table(heads, rows, opts.no_headers, fit=opts.output == "table")
        return
    objects = [data(i) for i in kept]
    if opts.output == "name":
        for obj in objects:
            echo(_name_of(name, obj))
        return
    emit_list(objects, opts.output, opts.no_headers)


def rows_table(
    headers: Sequence[str], row: Callable[[T], Sequence[Any]]
) -> Callable[[Sequence[T], bool], tuple[Sequence[str], list[Sequence[Any]]]]:
    """A ``table`` for ``report`` from fixed headers and a row function (wide = the same)."""
    return lambda items, _wide: (headers, [row(i) for i in items])


# -- tables for people -----------------------------------------------------------------------


def _width() -> int | None:
    """The terminal's width on a terminal, ``$COLUMNS`` when set, else none (piped: kubectl's)."""
    if sys.stdout.isatty():
        try:
            return os.get_terminal_size(sys.stdout.fileno()).columns
        except (OSError, ValueError):
            return 80
    env = os.environ.get("COLUMNS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def use_colour() -> bool:
    """Colours on a terminal unless ``NO_COLOR``; ``SHIPWAY_COLOR=always|never`` decides first."""
    forced = os.environ.get("SHIPWAY_COLOR", "").lower()
    if forced in ("always", "never"):
        return forced == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def _ellipsis() -> str:
    enc = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return "…" if enc.startswith("utf") else "~"


def table_lines(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    no_headers: bool = False,
    fit: bool = True,
    cols: Sequence[int] | None = None,
) -> tuple[list[str], list[int]]:
    """The lines of a table and the column widths used (``cols`` given: those)."""
    heads = [h.upper() for h in headers]
    body = [["" if c is None else str(c) for c in row] for row in rows]
    own = printers.widths([heads, *body]) if heads else []
    if cols is not None:  # later rows of a watch: as wide as the first table, or wider
        own = [max(a, b) for a, b in zip(own, cols, strict=False)]
    fitted = printers.fit(own, heads, _width()) if fit else list(own)
    keep = [i for i, w in enumerate(fitted) if w is not None]
    widths = [w for w in fitted if w is not None]
    heads = [heads[i] for i in keep]
    mark = _ellipsis()
    body = [[printers.shorten(r[i] if i < len(r) else "", w, mark)
             for i, w in zip(keep, widths, strict=True)] for r in body]  # fmt: skip
    lines = ([] if no_headers else [heads]) + body
    text = printers.render(lines, widths)
    if use_colour():
        text = printers.coloured(text, heads, body, widths, skip_first=not no_headers)
    return text, [w if w is not None else 0 for w in fitted]


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], no_headers: bool = False,
               fit: bool = True) -> list[int]:  # fmt: skip
    """Print a table; return its column widths (``watch`` prints later rows to them)."""
    text, cols = table_lines(headers, rows, no_headers, fit)
    for line in text:
        echo(line)
    return cols


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], no_headers: bool = False) -> None:
    """Aligned columns as kubectl's tabwriter, fitted to the terminal (see module doc)."""
    emit_table(headers, rows, no_headers)


# -- watching --------------------------------------------------------------------------------


def watch(
    fetch: Callable[[], Sequence[T]],
    opts: Options | str,
    *,
    table: TableFn[T],
    name: str | Callable[[Any], str],
    data: Callable[[T], Any] = _identity,
    interval: float = 1.0,
    rounds: int | None = None,
    feed: Feed | None = None,
) -> None:
    """``report`` the list, then print each object that changes, as ``kubectl get -w``
    does (rows without a header; JSON/YAML objects; names; an object deleted prints its
    last state; with ``opts.watch_events`` each as kubectl's ``--output-watch-events``
    prints it: an EVENT column, or ``{"type": ..., "object": ...}``), until interrupted
    (Ctrl-C: return, so the command exits 0) or after ``rounds`` fetches. With a
    ``feed`` (``shipway.cli.changes``, built before this is called) the list is fetched
    again when the feed says something changed, and at least every
    ``changes.fallback()`` seconds; without one, every ``interval`` seconds."""
    if isinstance(opts, str):
        opts = Options(opts)

    def state(items: Sequence[T]) -> dict[str, tuple[T, str]]:
        out = {}
        for i in select(items, opts, data):
            obj = data(i)
            out[_name_of(name, obj)] = (i, json.dumps(obj, sort_keys=True, default=str))
        return out

    try:
        first = fetch()
        seen = state(first)
        kept = [i for i, _ in seen.values()]
        cols: list[int] | None = None
        if opts.watch_events:
            cols = _print_changed([("ADDED", i) for i in kept], opts, table, name, data, None,
                                  header=not opts.no_headers)  # fmt: skip
        elif opts.output in ("table", "wide"):
            heads, rows = table(kept, opts.output == "wide")
            if rows or not opts.no_headers:
                cols = emit_table(heads, rows, opts.no_headers, fit=opts.output == "table")
        else:
            report(kept, opts, table=table, name=name, data=data)
        n = 0
        while rounds is None or n < rounds:
            n += 1
            if feed is None:
                time.sleep(interval)
            else:
                from shipway.cli.changes import fallback

                feed.wait(fallback())
            now = state(fetch())
            changed = [
                ("MODIFIED" if key in seen else "ADDED", i)
                for key, (i, text) in now.items()
                if seen.get(key, (None, ""))[1] != text
            ]
            changed += [("DELETED", i) for key, (i, _) in seen.items() if key not in now]
            seen = now
            if changed:
                cols = _print_changed(changed, opts, table, name, data, cols)
    except KeyboardInterrupt:
        return
    finally:
        if feed is not None:
            feed.close()


def _print_changed(changed: list[tuple[str, T]], opts: Options, table: TableFn[T],
                   name: str | Callable[[Any], str], data: Callable[[T], Any],
                   cols: list[int] | None, header: bool = False) -> list[int] | None:  # fmt: skip
    items = [i for _, i in changed]
    if opts.output in ("table", "wide"):
        heads, rows = table(items, opts.output == "wide")
        if opts.watch_events:  # as wide as MODIFIED from the first row on
            heads = ["event", *heads]
            rows = [[t.ljust(8), *row] for (t, _), row in zip(changed, rows, strict=True)]
        text, cols = table_lines(heads, rows, no_headers=not header,
                                 fit=opts.output == "table", cols=cols)  # fmt: skip
        for line in text:
            echo(line)
        return cols
    for t, obj in ((t, data(i)) for t, i in changed):
        if opts.output == "name":
            echo(_name_of(name, obj))
            continue
        if opts.watch_events:
            obj = {"type": t, "object": obj}
        if not emit(obj, opts.output, no_headers=True):
            echo(json.dumps(obj, default=str))
    return cols


# -- errors ----------------------------------------------------------------------------------


def error_line(text: str) -> Text:
    """``error: text`` with ``error:`` in red and ``text`` printed literally."""
    from rich.text import Text

    return Text.assemble(("error:", "red"), " ", text)


def fail(exc: ShipwayError) -> None:
    """Print an error the way kubectl does (``error: subject: message``) and exit."""
    stderr.print(error_line(str(exc)), soft_wrap=True)
    raise SystemExit(exc.exit_code)
