"""Shell completion of kinds and resource names (``shipway completion bash|zsh|fish``).

The ``shell_complete`` callbacks of ``get KIND NAME``, ``describe``, ``delete``,
``-n NAMESPACE`` and the ``app`` commands. Names come from the store through
``shipway.store.reads.names`` (one query, no SQLAlchemy on SQLite); any error
(no store, a remote login, a bad kind) completes nothing rather than printing
a trace into the shell. May touch: the store, read only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shipway.model import kindnames, namespaces

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

EXTRA_KINDS = ("events", "namespaces")
"""Words ``get`` takes that are not stored kinds."""


def kind_words() -> list[str]:
    """The plural word of each kind (kubectl completes ``applications``, ``stages``...)."""
    plural: dict[str, str] = {}
    for word, kind in kindnames.ALIASES.items():
        if word.endswith("s") and word.startswith(kind.lower()[:4]):
            plural.setdefault(kind, word)
    words = [plural.get(kind, kind.lower()) for kind in kindnames.API_VERSIONS]
    return sorted({*words, *EXTRA_KINDS})


def kinds(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(w) for w in kind_words() if w.startswith(incomplete.lower())]


def _stored(ctx: click.Context, kind: str, namespace: str | None) -> list[tuple[str, str]]:
    from shipway.cli.context import reader_from
    from shipway.store import reads

    try:
        return reads.names(reader_from(ctx), kind, namespace)
    except Exception:  # completion must never print a trace into the shell
        return []


def names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Names of the stored objects of the ``kind`` argument (in ``-n``, else every namespace)."""
    from click.shell_completion import CompletionItem

    word = str(ctx.params.get("kind") or "")
    try:
        kind = kindnames.canonical_kind(word)
    except Exception:
        return []
    ns = ctx.params.get("namespace")
    found = _stored(ctx, kind, ns if isinstance(ns, str) and ns else None)
    return [CompletionItem(n) for n in sorted({n for _, n in found}) if n.startswith(incomplete)]


def namespace_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The namespaces ``-n`` may name (``get namespaces``' list), as kubectl completes them."""
    from click.shell_completion import CompletionItem

    from shipway.cli.context import reader_from
    from shipway.store import reads

    try:
        found = reads.namespace_names(reader_from(ctx))
    except Exception:  # completion must never print a trace into the shell
        return []
    return [CompletionItem(n) for n in found if n.startswith(incomplete)]


def apps(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Application names as ``app`` commands take them (``web``, ``dev/web``)."""
    from click.shell_completion import CompletionItem

    found = _stored(ctx, "Application", None)
    shown = sorted(namespaces.qualified(ns, n) for ns, n in found)
    return [CompletionItem(n) for n in shown if n.startswith(incomplete)]


SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script: source <(shipway completion bash)."""
    from click.shell_completion import get_completion_class

    from shipway.cli.root import cli

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "shipway", "_SHIPWAY_COMPLETE").source())
