"""Render results: ``-o json``, ``-o yaml``, or a table for people (rich).

User text (messages, names, table cells) is never read as rich markup: the
consoles here have markup off and cells are ``Text``, so ``[/path]`` in an
error prints as it is written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shipway.model.errors import ShipwayError

F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True, highlight=False, markup=False)


def output_option(func: F) -> F:
    """The ``-o/--output`` option shared by every command that reports."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json", "yaml", "wide", "name"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


def emit(data: Any, fmt: str) -> bool:
    """Print ``data`` as JSON or YAML; return False when the caller should draw a table."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
        return True
    if fmt == "yaml":
        docs = data if isinstance(data, list) else [data]
        click.echo(yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False).rstrip())
        return True
    return False


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for h in headers:
        t.add_column(h.upper())
    for row in rows:
        t.add_row(*[Text("" if c is None else str(c)) for c in row])
    width = 200 if not sys.stdout.isatty() else None
    Console(highlight=False, markup=False, width=width).print(t)


def error_line(text: str) -> Text:
    """``error: text`` with ``error:`` in red and ``text`` printed literally."""
    return Text.assemble(("error:", "red"), " ", text)


def fail(exc: ShipwayError) -> None:
    """Print an error the way kubectl does (``error: subject: message``) and exit."""
    stderr.print(error_line(str(exc)), soft_wrap=True)
    raise SystemExit(exc.exit_code)
