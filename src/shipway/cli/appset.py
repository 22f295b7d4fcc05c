"""``shipway appset generate|refresh``: Argo CD ApplicationSets from the command line.

``generate -f FILE`` (or a stored set's NAME) prints the Applications the set
would make, without storing anything, as ``argocd appset generate`` does
(``-o yaml|json|name|wide``); bad input exits 2 with every problem named.
``refresh NAME`` reconciles a stored set now (the controller does it on its
pass and on webhooks) and prints what changed; exit 1 when it failed.
"""

from __future__ import annotations

import click

from shipway.cli import output as out
from shipway.cli import scope
from shipway.cli.context import state_from


@click.group()
def appset() -> None:
    """Argo CD ApplicationSets: generate Applications from generators and a template."""


@appset.command()
@click.argument("name", required=False)
@click.option("-f", "--filename", "path", default=None, help="An ApplicationSet YAML file.")
@scope.namespace_option
@out.output_option
def generate(name: str | None, path: str | None, namespace: str | None, output: str) -> None:
    """Print the Applications ApplicationSet NAME (or the one in -f FILE) generates."""
    from shipway.deploy.appset import engine, plan
    from shipway.model.errors import InputError
    from shipway.store import resources as store_resources

    state = state_from(click.get_current_context())
    if path:
        from shipway.cli.files import load_paths

        found = [r for r in load_paths((path,), False, namespace, scope.current())
                 if r.kind == engine.KIND]  # fmt: skip
        if len(found) != 1:
            raise InputError(f"{path} must hold one ApplicationSet (found {len(found)})",
                             subject=path)  # fmt: skip
        appset_res = found[0]
    elif name:
        appset_res = store_resources.get(state.store, engine.KIND, name,
                                         scope.for_kind(engine.KIND, name, namespace))  # fmt: skip
    else:
        raise click.UsageError("name an ApplicationSet or give -f FILE")
    inputs = engine.StoreInputs(state.store, state.settings)
    try:
        apps = plan.desired(appset_res, inputs)
    finally:
        inputs.close()
    if out.emit_list(apps, output):
        return
    rows = []
    for a in apps:
        spec = a["spec"]
        src = spec.get("source") or (spec.get("sources") or [{}])[0]
        dest = spec.get("destination") or {}
        row = [a["metadata"]["name"], a["metadata"]["namespace"], spec.get("project", "default"),
               src.get("repoURL", ""), src.get("path") or src.get("chart") or ""]  # fmt: skip
        if output == "wide":
            row += [src.get("targetRevision") or "HEAD", dest.get("name") or dest.get("server")]
        rows.append(row)
    heads = ["name", "namespace", "project", "repo", "path"]
    out.table(heads + (["target", "destination"] if output == "wide" else []), rows)


@appset.command()
@click.argument("name")
@scope.namespace_option
@out.data_output_option
def refresh(name: str, namespace: str | None, output: str) -> None:
    """Reconcile ApplicationSet NAME now: create, update and prune its Applications."""
    from shipway.deploy.appset import engine

    state = state_from(click.get_current_context())
    ns = scope.for_kind(engine.KIND, name, namespace)
    result = engine.reconcile(state.store, state.settings, name, ns)
    if not out.emit(result.to_dict(), output):
        if result.error:
            click.echo(f"applicationset/{name}: {result.error}", err=True)
        for verb in ("created", "updated", "deleted"):
            for app in getattr(result, verb):
                click.echo(f"application/{app} {verb}")
        for line in [*result.held, *result.conflicts]:
            click.echo(f"applicationset/{name}: {line}", err=True)
        if result.ok and not (result.created or result.updated or result.deleted):
            click.echo(f"applicationset/{name} up to date ({len(result.unchanged)} applications)")
    if not result.ok:
        raise SystemExit(1)
