"""The ``app`` and ``ci`` groups, and their ``list`` commands, which load fast.

``shipway app list`` and ``shipway ci list`` are run all day: they read the
store through ``shipway.store.reads`` and import neither the engines nor
SQLAlchemy. The groups' other commands live in ``shipway.cli.app`` and
``shipway.cli.ci`` (and ``ci_plan``), imported only when one of them runs or
help lists them (``LazySubGroup``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from shipway.cli import optspec, remote
from shipway.cli import output as out
from shipway.cli.context import reader_from
from shipway.cli.groups import SuggestingGroup
from shipway.cli.list_views import NOTHING, RUN_HEADERS, app_name, app_table, run_row
from shipway.model import namespaces, selectors
from shipway.store import reads

F = TypeVar("F", bound=Callable[..., Any])


class LazySubGroup(SuggestingGroup):
    """A group whose ``own`` commands are here and whose others load from ``rest`` modules.

    A ``rest`` module adds its commands to this group when imported (with
    ``@group.command``) or through its ``register()``.
    """

    def __init__(self, *args: Any, rest: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rest = rest
        self._loaded = False

    def _load_rest(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for name in self.rest:
            register = getattr(importlib.import_module(name), "register", None)
            if callable(register):
                register()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            self._load_rest()
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_rest()
        return super().list_commands(ctx)


@click.group(cls=LazySubGroup, rest=("shipway.cli.app", "shipway.cli.app_tree"))
def app() -> None:
    """Argo CD Applications: diff, sync, health, history and rollback."""


@click.group(cls=LazySubGroup, rest=("shipway.cli.ci", "shipway.cli.ci_plan"))
def ci() -> None:
    """Run CI workflows (GitHub Actions syntax) and read stored runs."""


def app_namespace_option(func: F) -> F:
    """``-n/--namespace`` (``-N/--app-namespace``): the Application's namespace."""
    from shipway.cli import complete

    return optspec.click_option(optspec.APP_NAMESPACE, shell_complete=complete.namespace_names)(
        func
    )


def refused_option(*names: str, dest: str, why: str, flag: bool = False) -> Callable[[F], F]:
    """An option a kubectl user will type where it means nothing (a record without a
    namespace or labels): kept out of ``--help``, and refused with ``why`` (exit 2) rather
    than click's "No such option"."""

    def check(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value not in (None, False):
            from shipway.model.errors import InputError

            raise click.UsageError(str(InputError(why, subject=str(param.opts[0]))))
        return value

    return click.option(*names, dest, hidden=True, is_flag=flag, expose_value=False,
                        callback=check, default=False if flag else None)  # fmt: skip


@app.command("list")
@remote.server_option
@app_namespace_option
@optspec.click_option(optspec.ALL_NAMESPACES)
@out.selector_option
@out.list_options
@out.watch_option
@click.pass_context
def app_list(
    ctx: click.Context,
    /,
    server: str | None,
    namespace: str | None,
    all_namespaces: bool,
    selector: str | None,
    watch: bool,
    **_: Any,
) -> None:
    """List applications with their sync and health status."""
    ns = None if all_namespaces else (namespace or namespaces.ARGOCD)
    t = remote.target(ctx, server)
    wanted = selectors.matcher(selector)

    def fetch() -> list[dict[str, Any]]:
        if t is not None:
            apps: list[dict[str, Any]] = remote.get_json(t, "/api/applications", namespace=ns)
        else:
            apps = [r.to_object() for r in reads.list_kind(reader_from(ctx), "Application", ns)]
        return [a for a in apps if wanted((a.get("metadata") or {}).get("labels") or {})]

    opts = out.Options.of(ctx)
    if watch:
        from shipway.cli import changes

        out.watch(fetch, opts, table=app_table, name=app_name,
                  feed=changes.feed_for(ctx, server, tables=("resources",)))  # fmt: skip
        return
    out.report(fetch(), opts, table=app_table, name=app_name)


@ci.command("list")
@optspec.click_option(optspec.LIMIT)
@click.option("-A", "--all-namespaces", "all_namespaces", is_flag=True, expose_value=False,
              help="Every run, as without it (CI runs have no namespace).")  # fmt: skip
@refused_option("-n", "--namespace", dest="namespace",
                why="CI runs have no namespace: 'shipway ci list' lists the runs of every "
                    "workflow (-A is accepted and changes nothing)")  # fmt: skip
@refused_option("-l", "--selector", dest="selector",
                why="CI runs carry no labels: filter with --field-selector (e.g. "
                    "workflow=build.yml,conclusion=failure)")  # fmt: skip
@remote.server_option
@out.list_options
@out.watch_option
@click.pass_context
def ci_list(ctx: click.Context, /, limit: int, server: str | None, watch: bool, **_: Any) -> None:
    """List stored runs, newest first."""
    t = remote.target(ctx, server)

    def fetch() -> list[dict[str, Any]]:
        if t is not None:
            records: list[dict[str, Any]] = remote.get_json(t, "/api/ci/runs", limit=limit)
            return records
        return reads.list_runs(reader_from(ctx), limit=limit)

    table = out.rows_table(RUN_HEADERS, run_row)
    opts = out.Options.of(ctx)
    if watch:
        from shipway.cli import changes

        out.watch(fetch, opts, table=table, name="run",
                  feed=changes.feed_for(ctx, server, tables=("ci_runs",)))  # fmt: skip
        return
    out.report(fetch(), opts, table=table, name="run", empty=NOTHING)


@ci.command("logs")
@click.argument("run_id")
@remote.server_option
@click.pass_context
def logs_cmd(ctx: click.Context, run_id: str, server: str | None) -> None:
    """Print the stored (masked) log of a run."""
    t = remote.target(ctx, server)
    if t is not None:
        log = remote.call(t, "GET", f"/api/ci/runs/{run_id}/log").text
    else:  # read as ``ci list`` reads: the store as it is, never migrated
        _record, log = reads.get_run(reader_from(ctx), run_id)
    click.echo(log)
