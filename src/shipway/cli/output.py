"""Render results: ``-o json``, ``-o yaml``, ``-o name``, or a table for people.

Tables are kubectl's: upper-case headers, columns three spaces apart, plain
text (so user text is never read as markup); ``--no-headers`` drops the
header line. ``-o json`` of a list is a ``List`` object
(``{"apiVersion": "v1", "kind": "List", "items": [...]}``), as kubectl prints.
Rich (for stderr messages) and YAML load only when used, so a listing starts
fast. User text in messages is never read as rich markup: the console has
markup off and ``error_line`` builds a ``Text``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from shipway.model.errors import ShipwayError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ["table", "json", "yaml", "wide", "name"]


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


def output_option(func: F) -> F:
    """The ``-o/--output`` option shared by every command that reports."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


def no_headers_option(func: F) -> F:
    """``--no-headers``: tables without their header line (kubectl's)."""
    return click.option(
        "--no-headers", "no_headers", is_flag=True, help="Print tables without headers."
    )(func)


def selector_option(func: F) -> F:
    """``-l/--selector``: kubectl's label selector (equality and set-based)."""
    return click.option(
        "-l",
        "--selector",
        default=None,
        help="Label selector: key=value, key!=value, key in (a,b), key notin (a,b), key, !key.",
    )(func)


def emit(data: Any, fmt: str) -> bool:
    """Print ``data`` as JSON or YAML; return False when the caller should draw a table."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
        return True
    if fmt == "yaml":
        import yaml

        docs = data if isinstance(data, list) else [data]
        click.echo(yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False).rstrip())
        return True
    return False


def listing(items: list[Any]) -> dict[str, Any]:
    """kubectl's ``List`` of ``items``."""
    return {"apiVersion": "v1", "kind": "List", "items": items}


def emit_list(items: list[Any], fmt: str) -> bool:
    """``emit`` for a list: ``-o json`` prints it as a ``List`` object."""
    return emit(listing(items) if fmt == "json" else items, fmt)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], no_headers: bool = False) -> None:
    """Aligned columns, three spaces apart, the last not padded (as kubectl's tabwriter)."""
    lines = [[h.upper() for h in headers]] if not no_headers else []
    lines += [["" if c is None else str(c) for c in row] for row in rows]
    if not lines:
        return
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    for line in lines:
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=False)] + line[-1:]
        click.echo("   ".join(cells).rstrip())


def error_line(text: str) -> Text:
    """``error: text`` with ``error:`` in red and ``text`` printed literally."""
    from rich.text import Text

    return Text.assemble(("error:", "red"), " ", text)


def fail(exc: ShipwayError) -> None:
    """Print an error the way kubectl does (``error: subject: message``) and exit."""
    stderr.print(error_line(str(exc)), soft_wrap=True)
    raise SystemExit(exc.exit_code)
