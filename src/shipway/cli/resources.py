"""``shipway apply -f``, ``get KIND [NAME]``, ``delete KIND NAME``: kubectl-style.

All three take ``-n/--namespace``; ``get`` also ``-A/--all-namespaces`` (a
NAMESPACE column first). ``apply -n NS`` puts objects that name no namespace
in NS and refuses one that names another, with kubectl's message. Kargo objects
are checked against each other and the store first (``shipway.promote.checks``). Without
``-n`` an object goes where its kind's default says (``shipway.cli.scope``).
``get namespaces`` lists the namespaces that exist (Kargo Projects among them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from shipway.cli import complete, scope
from shipway.cli import output as out
from shipway.cli.context import reader_from, store_from
from shipway.cli.list_views import nothing_found, resource_table
from shipway.model import builtin, kindnames, namespaces, selectors
from shipway.model.errors import NotFoundError
from shipway.model.resources import Resource, combined
from shipway.store import reads

if TYPE_CHECKING:
    from types import ModuleType


def _repo() -> ModuleType:
    """``shipway.store.resources`` (SQLAlchemy): loaded by the commands that write or look up."""
    from shipway.store import resources

    return resources


_NAMESPACE_WORDS = frozenset({"ns", "namespace", "namespaces"})


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
@scope.namespace_option
@out.output_option
@click.pass_context
def apply(
    ctx: click.Context,
    paths: tuple[str, ...],
    recursive: bool,
    dry_run: bool,
    namespace: str | None,
    output: str,
) -> None:
    """Validate resources and store them (created / configured / unchanged)."""
    from shipway.cli.files import load_paths

    resources = load_paths(paths, recursive, namespace or None, scope.current())
    _check_rbac(resources)
    _check_references(ctx, resources)
    if dry_run:
        results = [(r, "valid (dry run)") for r in resources]
    else:
        results = _repo().apply(store_from(ctx), resources)
    data = [
        {
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "result": res,
            "source": r.source,
        }
        for r, res in results
    ]
    if not out.emit(data, output, name=lambda d: f"{d['kind'].lower()}/{d['name']}"):
        for r, res in results:
            click.echo(f"{r.kind.lower()}/{r.name} {res}")


def _check_rbac(resources: list[Resource]) -> None:
    """An ``argocd-rbac-cm`` is parsed before it is stored: a line that does not parse is
    refused at its key and line (stored, it would leave only the built-in policy in force)."""
    from shipway.auth import rbac

    for r in resources:
        if r.kind == "ConfigMap" and r.name == rbac.CONFIGMAP and r.namespace == namespaces.ARGOCD:
            name = f"{r.source}: ConfigMap/{rbac.CONFIGMAP}" if r.source else None
            rbac.parse_configmap(
                {str(k): str(v) for k, v in (r.body.get("data") or {}).items()},
                name or f"ConfigMap/{rbac.CONFIGMAP}",
            )


def _check_references(ctx: click.Context, resources: list[Resource]) -> None:
    """Kargo's cross-object checks (``shipway.promote.checks``) against the batch and the store."""
    from shipway.promote import checks

    if not any(r.kind in checks.CHECKED_KINDS for r in resources):
        return
    reader = reader_from(ctx)
    projects = sorted({r.namespace for r in resources if r.kind in checks.CHECKED_KINDS})
    stored: list[Resource] = []
    for kind in checks.referenced_kinds(resources):
        if not namespaces.namespaced(kind):
            stored += reads.list_kind(reader, kind)
        else:
            stored += [r for ns in projects for r in reads.list_kind(reader, kind, ns)]
    problems = checks.check(resources, stored)
    if problems:
        raise combined(problems)


def _namespace_dicts(names: list[str], stored: dict[str, Resource]) -> list[dict[str, Any]]:
    """Each namespace as an object: an applied Namespace as it was applied, else a bare one."""
    out = []
    for n in names:
        own = stored[n].to_object() if n in stored else {}
        out.append({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": own.get("metadata") or {"name": n},
                    **({"spec": own["spec"]} if own.get("spec") else {}),
                    "status": {"phase": "Active"}})  # fmt: skip
    return out


def _get_namespaces(ctx: click.Context, name: str | None, opts: out.Options) -> None:
    names = _repo().namespaces(store_from(ctx))
    if name:
        if name not in names:
            raise NotFoundError(f"namespace {name!r} not found", subject=f"Namespace/{name}")
        names = [name]
    stored = {r.name: r for r in reads.list_kind(reader_from(ctx), "Namespace")}
    items = _namespace_dicts(names, stored)
    if name and out.emit(items[0], opts.output, opts.no_headers):
        return
    out.report(items, opts, table=out.rows_table(["name", "status"], _namespace_row),
               name="namespace")  # fmt: skip


def _namespace_row(d: dict[str, Any]) -> list[Any]:
    return [d["metadata"]["name"], d["status"]["phase"]]


def listed(ctx: click.Context, kind: str, namespace: str | None, every: bool) -> list[Resource]:
    reader = reader_from(ctx)
    if every or not namespaces.namespaced(kind):
        return builtin.with_builtins(kind, reads.list_kind(reader, kind))
    return reads.list_kind(reader, kind, scope.for_kind(kind, "", namespace))


EVENT_WORDS = frozenset({"events", "event", "ev"})


class GetCommand(click.Command):
    """``get``; ``get events ...`` hands its own options to ``shipway.cli.events``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].lower() in EVENT_WORDS and not ctx.resilient_parsing:
            from shipway.cli.events import events

            sub = events.make_context("get events", list(args[1:]), parent=ctx.parent)
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
@scope.kind_form
@out.list_options
@out.watch_option
@click.pass_context
def get(
    ctx: click.Context,
    /,
    kind: str,
    name: str | None,
    namespace: str | None,
    all_namespaces: bool,
    selector: str | None,
    watch: bool,
    **_: Any,
) -> None:
    """Show stored resources of KIND, or the one named NAME."""
    opts = out.Options.of(ctx)
    if kind.lower() in _NAMESPACE_WORDS:
        _get_namespaces(ctx, name, opts)
        return
    canonical = kindnames.canonical_kind(kind)
    namespace = namespace or None
    word = canonical.lower()
    table = resource_table(canonical, all_namespaces)
    if name:
        res = find_one(ctx, canonical, name, namespace)
        if not out.emit(res.to_object(), opts.output, opts.no_headers):
            out.report([res], opts, table=table, name=word, data=Resource.to_object)
        return
    wanted = selectors.matcher(selector)

    def fetch() -> list[Resource]:
        return [r for r in listed(ctx, canonical, namespace, all_namespaces) if wanted(r.labels)]

    if watch:
        from shipway.cli import changes

        out.watch(fetch, opts, table=table, name=word, data=Resource.to_object,
                  feed=changes.feed_for(ctx, local=True, tables=("resources",)))  # fmt: skip
        return
    empty = nothing_found(canonical, scope.for_kind(canonical, "", namespace), all_namespaces)
    out.report(fetch(), opts, table=table, name=word, data=Resource.to_object, empty=empty)


def find_one(ctx: click.Context, kind: str, name: str, namespace: str | None) -> Resource:
    """The stored ``kind`` named ``name`` (or a built-in one); a NotFoundError otherwise."""
    ns = scope.for_kind(kind, name, namespace)
    stored = reads.list_kind(reader_from(ctx), kind, ns if namespaces.namespaced(kind) else None)
    found = [r for r in builtin.with_builtins(kind, stored) if r.name == name]
    if found:
        return found[0]
    res = _repo().get(store_from(ctx), kind, name, ns)  # raises the not-found error
    assert isinstance(res, Resource)
    return res


@click.command()
@click.argument("kind", shell_complete=complete.kinds)
@click.argument("name", shell_complete=complete.names)
@scope.namespace_option
@click.option("-o", "--output", type=click.Choice(["name"]), default=None,
              help="name: print kind/name only, as kubectl delete -o name.")  # fmt: skip
@click.pass_context
def delete(
    ctx: click.Context, kind: str, name: str, namespace: str | None, output: str | None
) -> None:
    """Remove a stored resource."""
    said = "" if output == "name" else " deleted"
    canonical = kindnames.canonical_kind(kind)
    _repo().delete(store_from(ctx), canonical, name, scope.for_kind(canonical, name, namespace))
    click.echo(f"{canonical.lower()}/{name}{said}")
    if canonical == "ApplicationSet":  # its Applications go with it, as Kubernetes' GC does
        from shipway.cli.context import state_from
        from shipway.deploy.appset import engine

        errors: list[str] = []
        for app in engine.prune_orphans(store_from(ctx), state_from(ctx).settings, errors):
            click.echo(f"application/{app}{said}")
        for line in errors:  # left for the controller's next pass to try again
            click.echo(line, err=True)
