"""``shipway warehouse refresh NAME -n PROJECT``: one discovery now, as ``kargo refresh warehouse``.

Prints the Freight the discovery selected and whether it is new; exits 1 when
the discovery failed (the Warehouse's ``Ready`` condition says why).
"""

from __future__ import annotations

import click

from shipway.cli import scope
from shipway.cli.context import state_from
from shipway.cli.groups import SuggestingGroup


@click.group(cls=SuggestingGroup)
def warehouse() -> None:
    """Kargo Warehouses: discovery of images and commits into Freight."""


@warehouse.command()
@click.argument("name")
@click.option("-n", "--namespace", "--project", "namespace", default=None,
              help="The Kargo Project (namespace) of the Warehouse.")  # fmt: skip
def refresh(name: str, namespace: str | None) -> None:
    """Run the discovery of Warehouse NAME once."""
    from shipway.promote import warehouse as engine

    state = state_from(click.get_current_context())
    ns = namespace or scope.current()
    result = engine.refresh_named(state.store, name, ns, workdir=state.settings.work_dir /
                                  "warehouses")  # fmt: skip
    if result.error:
        click.echo(f"warehouse/{name}: discovery failed: {result.error}", err=True)
        raise SystemExit(1)
    if result.freight is None:
        click.echo(f"warehouse/{name} refreshed")
    elif result.created:
        click.echo(f"warehouse/{name} refreshed: freight/{result.freight} ({result.alias}) created")
    elif result.alias:
        click.echo(f"warehouse/{name} refreshed: freight/{result.freight} ({result.alias}) exists")
    else:
        click.echo(f"warehouse/{name} refreshed: selected {result.freight} (Manual: not created)")
