"""``shipway apply -f``, ``get KIND [NAME]``, ``delete KIND NAME``: kubectl-style."""

from __future__ import annotations

import click

from shipway.cli import output as out
from shipway.cli.context import store_from
from shipway.cli.files import load_paths
from shipway.model import builtin
from shipway.model import resources as model
from shipway.store import resources as repo


@click.command()
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    help="A file, a directory of YAML files, or - for stdin.",
)
@click.option("-R", "--recursive", is_flag=True, help="Descend into directories.")
@click.option("--dry-run", is_flag=True, help="Validate only; store nothing.")
@out.output_option
@click.pass_context
def apply(
    ctx: click.Context, paths: tuple[str, ...], recursive: bool, dry_run: bool, output: str
) -> None:
    """Validate resources and store them (created / configured / unchanged)."""
    resources = load_paths(paths, recursive)
    if dry_run:
        results = [(r, "valid (dry run)") for r in resources]
    else:
        results = repo.apply(store_from(ctx), resources)
    data = [
        {"kind": r.kind, "name": r.name, "result": res, "source": r.source} for r, res in results
    ]
    if not out.emit(data, output):
        for r, res in results:
            click.echo(f"{r.kind.lower()}/{r.name} {res}")


EVENT_WORDS = frozenset({"events", "event", "ev"})


class GetCommand(click.Command):
    """``get``; ``get events ...`` hands its own options to ``shipway.cli.events``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].lower() in EVENT_WORDS:
            from shipway.cli.events import events

            sub = events.make_context("get events", list(args[1:]), parent=ctx)
            ctx.meta["shipway.events"] = sub
            return super().parse_args(ctx, [args[0]])
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        sub = ctx.meta.pop("shipway.events", None)
        if isinstance(sub, click.Context):
            with sub:
                return sub.command.invoke(sub)
        return super().invoke(ctx)


@click.command(cls=GetCommand)
@click.argument("kind")
@click.argument("name", required=False)
@out.output_option
@click.pass_context
def get(ctx: click.Context, kind: str, name: str | None, output: str) -> None:
    """Show stored resources of KIND, or the one named NAME."""
    canonical = model.canonical_kind(kind)
    store = store_from(ctx)
    if name:
        found = [r for r in builtin.with_builtins(canonical, []) if r.name == name]
        res = repo.find(store, canonical, name) or (found[0] if found else None)
        if res is None:
            res = repo.get(store, canonical, name)  # raises the not-found error
        if not out.emit(res.to_dict(), output):
            out.table(["name", "source"], [[res.name, res.source]])
        return
    items = builtin.with_builtins(canonical, repo.list_kind(store, canonical))
    dicts = [r.to_dict() for r in items]
    listing = {"apiVersion": "v1", "kind": "List", "items": dicts} if output == "json" else dicts
    if out.emit(listing, output):
        return
    if output == "name":
        for r in items:
            click.echo(f"{canonical.lower()}/{r.name}")
        return
    out.table(["name", "source"], [[r.name, r.source] for r in items])


@click.command()
@click.argument("kind")
@click.argument("name")
@click.pass_context
def delete(ctx: click.Context, kind: str, name: str) -> None:
    """Remove a stored resource."""
    canonical = model.canonical_kind(kind)
    repo.delete(store_from(ctx), canonical, name)
    click.echo(f"{canonical.lower()}/{name} deleted")
