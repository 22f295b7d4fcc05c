"""``shipway refresh warehouse|stage --project P NAME`` (as ``kargo refresh``) and
``shipway warehouse refresh NAME -n PROJECT``.

Each writes Kargo's refresh request (the ``kargo.akuity.io/refresh`` annotation,
``promote.refreshes``) and handles it at once: a Warehouse's discovery runs
(prints the Freight it selected and whether it is new; exits 1 when the
discovery failed, the Warehouse's ``Ready`` condition says why), a Stage's
status is written again. Either way the object's ``status.lastHandledRefresh``
then holds the token, as Kargo's controller writes it. ``-o json|yaml|name|...``
prints the refreshed object as stored (``warehouse/NAME``, ``stage/NAME``).
"""

from __future__ import annotations

from typing import Any

import click

from shipway.cli import output as out
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
@out.output_option
def refresh(name: str, namespace: str | None, output: str = "table") -> None:
    """Run the discovery of Warehouse NAME once."""
    from shipway.promote import refreshes
    from shipway.promote import warehouse as engine

    state = state_from(click.get_current_context())
    ns = namespace or scope.current()
    refreshes.request(state.store, "Warehouse", name, ns)
    result = engine.refresh_named(state.store, name, ns, workdir=state.settings.work_dir /
                                  "warehouses")  # fmt: skip
    if result.error:
        click.echo(f"warehouse/{name}: discovery failed: {result.error}", err=True)
        raise SystemExit(1)
    if emit_stored(state.store, "Warehouse", name, ns, output):
        return
    if result.freight is None:
        click.echo(f"warehouse/{name} refreshed")
    elif result.created:
        click.echo(f"warehouse/{name} refreshed: freight/{result.freight} ({result.alias}) created")
    elif result.alias:
        click.echo(f"warehouse/{name} refreshed: freight/{result.freight} ({result.alias}) exists")
    else:
        click.echo(f"warehouse/{name} refreshed: selected {result.freight} (Manual: not created)")


@click.group("refresh", cls=SuggestingGroup)
def refresh_group() -> None:
    """Ask for a refresh of a Kargo Warehouse or Stage, as ``kargo refresh``."""


_PROJECT = click.option("--project", "-n", "--namespace", "namespace", default=None,
                        help="The Kargo Project (namespace).")  # fmt: skip


@refresh_group.command("warehouse")
@click.argument("name")
@_PROJECT
@out.output_option
@click.pass_context
def refresh_warehouse(ctx: click.Context, name: str, namespace: str | None, output: str) -> None:
    """Discover Warehouse NAME's artifacts now."""
    ctx.invoke(refresh, name=name, namespace=namespace, output=output)


@refresh_group.command("stage")
@click.argument("name")
@_PROJECT
@out.output_option
def refresh_stage(name: str, namespace: str | None, output: str) -> None:
    """Write Stage NAME's status again (health, conditions, promotion window)."""
    from shipway.promote import refreshes, stage_refresh

    state = state_from(click.get_current_context())
    ns = namespace or scope.current()
    token = refreshes.request(state.store, "Stage", name, ns)
    stage_refresh.refresh(state.store, ns, name)
    if emit_stored(state.store, "Stage", name, ns, output):
        return
    click.echo(f"stage/{name} refreshed ({refreshes.FIELD} {token})")


def emit_stored(store: Any, kind: str, name: str, namespace: str, output: str) -> bool:
    """The stored object in ``output``'s machine format; False for a table (the caller's line)."""
    if output in ("table", "wide"):
        return False
    from shipway.store import resources as store_resources

    return out.emit(store_resources.get(store, kind, name, namespace).to_object(), output)
