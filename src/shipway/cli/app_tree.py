"""``shipway app resources NAME`` and ``shipway app logs NAME [-c CONTAINER] [-f]``.

``app resources`` lists the Application's managed resources as ``argocd app
resources`` does (GROUP KIND NAMESPACE NAME ORPHANED; ``-o wide`` adds STATUS
and HEALTH), from the stored status (the last comparison: no cluster call);
``-o tree`` adds each workload's pods from the target beneath it (``└─Pod``),
as argocd's tree. ``app logs`` prints the logs of the app's pods
(``shipway.cluster.app_pods``: ``podman logs`` on podman, the pods' log API on
Kubernetes); ``-c`` picks a container, ``-f`` follows until Ctrl-C (exit 0),
``--kind``/``--workload`` pick one workload's pods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from shipway.cli import complete
from shipway.cli import output as out
from shipway.cli.context import reader_from, state_from, store_from
from shipway.cli.lists import app, app_namespace_option
from shipway.cli.output_type import OutputType
from shipway.model import namespaces
from shipway.model.errors import NotFoundError
from shipway.store import reads


class TreeOutput(OutputType):
    """``-o`` of ``app resources``: the usual formats and ``tree``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return "tree" if str(value) == "tree" else super().convert(value, param, ctx)


def _stored_app(ctx: click.Context, name: str, namespace: str | None) -> dict[str, Any]:
    ns, plain = namespaces.split_app(name, namespace)
    found = [r for r in reads.list_kind(reader_from(ctx), "Application", ns) if r.name == plain]
    if not found:
        raise NotFoundError(f"application {plain!r} not found in namespace {ns!r}",
                            subject=f"application/{namespaces.qualified(ns, plain)}")  # fmt: skip
    return found[0].to_object()


def _row(r: dict[str, Any], wide: bool, kind: str | None = None) -> list[Any]:
    row = [r.get("group", ""), kind or r.get("kind", ""), r.get("namespace", ""),
           r.get("name", ""), "Yes" if r.get("orphaned") else "No"]  # fmt: skip
    if wide:
        row += [r.get("status", ""), (r.get("health") or {}).get("status", "")]
    return row


HEADERS = ["group", "kind", "namespace", "name", "orphaned"]


def resources_table(items: Sequence[dict[str, Any]], wide: bool) -> tuple[list[str], list[Any]]:
    return HEADERS + (["status", "health"] if wide else []), [_row(r, wide) for r in items]


def tree_rows(items: Sequence[dict[str, Any]], pods: dict[tuple[str, str, str], list[Any]]
              ) -> list[list[Any]]:  # fmt: skip
    """The table rows with each workload's pods beneath it (``├─Pod``, ``└─Pod``)."""
    rows = []
    for r in items:
        rows.append(_row(r, True))
        children = pods.get((r.get("kind", ""), r.get("namespace", ""), r.get("name", ""))) or []
        for n, pod in enumerate(children):
            mark = "└─" if n == len(children) - 1 else "├─"
            rows.append(["", f"{mark}Pod", pod["namespace"], pod["name"], "No", "",
                         pod.get("phase", "")])  # fmt: skip
    return rows


def _target(ctx: click.Context, name: str, namespace: str | None) -> tuple[Any, str]:
    from shipway.deploy import compare
    from shipway.store import resources as store_resources

    store = store_from(ctx)
    ns, plain = namespaces.split_app(name, namespace)
    res = store_resources.get(store, "Application", plain, ns)
    target = compare.target_for(state_from(ctx).settings, res, compare.Loaded.load(store))
    return target, namespaces.instance(ns, plain)


@app.command("resources")
@click.argument("name", shell_complete=complete.apps)
@app_namespace_option
@click.option("-o", "--output", type=TreeOutput(), default="table", show_default=True,
              help="table, wide, tree (pods beneath their workloads), json, yaml, name, "
              "jsonpath=..., custom-columns=...")  # fmt: skip
@out.no_headers_option
@out.sort_by_option
@out.field_selector_option
@click.pass_context
def resources_cmd(ctx: click.Context, /, name: str, namespace: str | None, **_: Any) -> None:
    """List an application's managed resources (as argocd app resources)."""
    data = _stored_app(ctx, name, namespace)
    items = list((data.get("status") or {}).get("resources") or [])
    opts = out.Options.of(ctx)
    if opts.output == "tree":
        from shipway.cluster import app_pods

        target, key = _target(ctx, name, namespace)
        kept = out.select(items, opts, lambda r: r)
        rows = tree_rows(kept, app_pods.pods(target, key))
        out.emit_table([*HEADERS, "status", "health"], rows, opts.no_headers, fit=False)
        return

    def word(r: dict[str, Any]) -> str:
        return f"{str(r.get('kind', '')).lower()}/{r.get('name', '')}"

    out.report(items, opts, table=resources_table, name=word)


@app.command("logs")
@click.argument("name", shell_complete=complete.apps)
@app_namespace_option
@click.option("-c", "--container", default=None, help="Only this container's logs.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C ends).")
@click.option("--kind", "kind", default=None, help="Only the pods of workloads of this kind.")
@click.option("--workload", default=None, help="Only the pods of the workload of this name.")
@click.pass_context
def logs_cmd(
    ctx: click.Context,
    name: str,
    namespace: str | None,
    container: str | None,
    follow: bool,
    kind: str | None,
    workload: str | None,
) -> None:
    """Print the logs of an application's pods (podman or Kubernetes)."""
    from shipway.cluster import app_pods

    target, key = _target(ctx, name, namespace)
    found = [
        p
        for (k, _ns, n), listed in sorted(app_pods.pods(target, key).items())
        if (kind is None or k.lower() == kind.lower()) and workload in (None, n)
        for p in listed
    ]
    if not found:
        raise NotFoundError("no pods found for this application",
                            subject=f"application/{name}")  # fmt: skip
    try:
        app_pods.logs(target, found, container, follow, click.echo)
    except KeyboardInterrupt:
        return


def register() -> None:
    """The commands are added to ``app`` when this module is imported."""
