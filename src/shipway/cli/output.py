"""Render results: ``-o json``, ``-o yaml``, or a table for people (rich)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import yaml
from rich.console import Console
from rich.table import Table

from shipway.model.errors import ShipwayError

F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True, highlight=False)


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
        t.add_row(*["" if c is None else str(c) for c in row])
    Console(highlight=False, width=200 if not sys.stdout.isatty() else None).print(t)


def fail(exc: ShipwayError) -> None:
    """Print an error the way kubectl does (``error: subject: message``) and exit."""
    stderr.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
    raise SystemExit(exc.exit_code)
