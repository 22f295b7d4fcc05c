"""``shipway app list|get|diff|sync|wait|health|history|rollback|delete``: ``argocd app``.

Front end over ``shipway.deploy.engine``. Progress goes to stderr, naming
the object; results to stdout (``-o json|yaml`` for machines). Exit codes:
``diff`` exits 1 when there are differences (as ``kubectl diff``). ``sync``
prints one row per task (phase, wave, object, result, hook type and phase;
``--dry-run`` lists what would run, hooks included); ``sync``
and ``rollback`` exit 1 when the operation failed or, with ``--wait``, when
the application did not become Healthy.

An application is named ``NAME`` with ``-n/--namespace NS`` (``-N/--app-namespace``
as argocd has it), or ``NS/NAME``; Applications default to ``argocd``. ``app
list`` lists ``argocd`` (or ``-n``), ``-A`` every namespace; names outside
``argocd`` show as ``NS/NAME``, as argocd shows them.
"""

from __future__ import annotations

from typing import Any

import click

from shipway.cli import output as out
from shipway.cli.app_health import health_cmd
from shipway.cli.context import state_from, store_from
from shipway.cli.list_views import summary_row
from shipway.cli.lists import app, app_namespace_option
from shipway.deploy import engine, history
from shipway.deploy.status import SyncResult
from shipway.model import namespaces
from shipway.model.errors import InputError
from shipway.store import resources as store_resources


def app_key(name: str, namespace: str | None) -> str:
    """The engines' key of ``name`` (``web``, ``dev/web``) with ``-n``: ``web``, ``dev_web``."""
    if "/" in name and namespace:
        ns = name.partition("/")[0]
        if ns != namespace:
            raise InputError(
                f"application {name!r} is not in namespace {namespace!r}",
                subject=f"application/{name}",
            )
    return namespaces.app_key(name, namespace or None)


def shown(key: str) -> str:
    """``web`` or ``dev/web``: how people name the app of an engine key."""
    return namespaces.qualified(*namespaces.split_app(key))


def _progress(event: dict[str, Any]) -> None:
    subject = event.get("object") or f"application/{shown(event['app'])}"
    out.stderr.print(f"{subject}: {event.get('message') or event['reason']}", highlight=False)


def _app_dict(store: Any, key: str) -> dict[str, Any]:
    ns, name = namespaces.split_app(key)
    return store_resources.get(store, "Application", name, ns).to_dict()


app.add_command(health_cmd)


@app.command("get")
@click.argument("name")
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="Compare with git and the cluster first (as argocd app get does).",
)
@app_namespace_option
@out.output_option
@click.pass_context
def get_cmd(
    ctx: click.Context, name: str, refresh: bool, namespace: str | None, output: str
) -> None:
    """Show an application with its status filled as Argo CD fills it."""
    store = store_from(ctx)
    key = app_key(name, namespace)
    if refresh:
        engine.refresh(store, key, settings=state_from(ctx).settings)
    data = _app_dict(store, key)
    if out.emit(data, output):
        return
    row = summary_row(data)
    status = data.get("status") or {}
    for label, value in zip(
        [
            "Name",
            "Cluster",
            "Namespace",
            "Project",
            "Sync Status",
            "Health Status",
            "Sync Policy",
            "Repo",
            "Path",
            "Target",
        ],
        row,
        strict=True,
    ):
        click.echo(f"{label + ':':<15}{value or ''}")
    click.echo(f"{'Revision:':<15}{(status.get('sync') or {}).get('revision', '')}")
    if status.get("pin"):
        click.echo(f"{'Pinned:':<15}{status['pin']['revision']} ({status['pin']['reason']})")
    for image, digest in sorted((status.get("imageDigests") or {}).items()):
        click.echo(f"{'Image digest:':<15}{image} -> {digest} (mutateDigest)")
    for cond in status.get("conditions") or []:
        click.echo(f"{'Condition:':<15}{cond['type']}: {cond['message']}")
    op = status.get("operationState") or {}
    if op:
        click.echo(f"{'Last sync:':<15}{op.get('phase')}: {op.get('message')}")
    click.echo("")
    out.table(
        ["group", "kind", "namespace", "name", "status", "health", "message"],
        [
            [
                r["group"],
                r["kind"],
                r["namespace"],
                r["name"],
                r["status"],
                (r.get("health") or {}).get("status", ""),
                (r.get("health") or {}).get("message", ""),
            ]
            for r in status.get("resources") or []
        ],
    )


@app.command("diff")
@click.argument("name")
@app_namespace_option
@click.pass_context
def diff_cmd(ctx: click.Context, name: str, namespace: str | None) -> None:
    """Show desired against live per object; exit 1 when they differ."""
    key = app_key(name, namespace)
    result = engine.refresh(store_from(ctx), key, settings=state_from(ctx).settings)
    for c in result.conditions:
        out.stderr.print(f"application/{shown(key)}: {c['type']}: {c['message']}", highlight=False)
    if result.errors:  # a …Warning condition (a pinned tag not resolved) still diffs
        raise SystemExit(2 if result.errors[0]["type"] == "ComparisonError" else 5)
    for d in result.out_of_sync:
        group, kind, ns, obj = d.key.split("/", 3)
        click.echo(f"===== {group}/{kind} {ns}/{obj} ======")
        click.echo(d.text.rstrip("\n"))
    _policy_lines(ctx, key, result)
    if result.out_of_sync:
        raise SystemExit(1)


def _policy_lines(ctx: click.Context, key: str, result: Any) -> None:
    """What the sync's policy gates would say about these desired objects (the app's
    annotations choose its vulnerability gate, as at a sync)."""
    from shipway.deploy import appspec, policy_gate

    objects = list(result.written) + list(result.written_hooks)  # images as git says
    spec = {"destination": result.destination}
    meta = _app_dict(store_from(ctx), key).get("metadata") or {}
    gate = policy_gate.check(
        store_from(ctx), state_from(ctx).settings, objects, appspec.namespace(spec),
        dict(meta.get("annotations") or {}),
    )  # fmt: skip
    pins = sorted({(c.image, c.deployed) for c in gate.images if c.deployed})
    if not (gate.refusal or gate.warnings or pins):
        return
    click.echo("===== policy ======")
    if gate.refusal:
        click.echo(f"REFUSED: {gate.refusal}")
    for w in gate.warnings:
        click.echo(f"WARN: {w}")
    for image, deployed in pins:  # what a sync applies (Kyverno's mutateDigest)
        click.echo(f"DIGEST: {image} -> {deployed}")


def _report(res: SyncResult, output: str, wait_health: str | None) -> None:
    data = res.to_dict()
    if wait_health is not None:
        data["health"] = wait_health
    if not out.emit(data, output):
        _tasks_table(res)
        click.echo(f"{'Phase:':<15}{res.phase}")
        click.echo(f"{'Message:':<15}{res.message}")
        click.echo(f"{'Revision:':<15}{res.revision}")
        click.echo(f"{'Sync Status:':<15}{res.sync_status}")
        click.echo(f"{'Health Status:':<15}{wait_health or res.health}")
        if res.pinned:
            click.echo(
                f"{'Pinned:':<15}automated sync stays at {res.revision[:12]} until "
                f"`shipway app sync {shown(res.app)}`"
            )
    if not res.ok or (wait_health is not None and wait_health != "Healthy"):
        raise SystemExit(1)


def _tasks_table(res: SyncResult) -> None:
    """One row per task, in the order they ran (a dry run: would run), with phase and wave."""
    rows = []
    for r in res.resources:
        group, kind, namespace, name = r.key.split("/", 3)
        hook = f"{r.hook_type} ({r.hook_phase})" if r.hook_type else ""
        rows.append(
            [r.sync_phase, r.sync_wave, group, kind, namespace, name, r.status, hook, r.message]
        )
    out.table(
        ["phase", "wave", "group", "kind", "namespace", "name", "status", "hook", "message"], rows
    )
    click.echo("")


def _wait(ctx: click.Context, name: str, res: SyncResult, wait: bool, timeout: float) -> str | None:
    if not wait or not res.ok or res.dry_run:
        return None
    out.stderr.print(f"application/{shown(name)}: waiting up to {timeout:.0f}s for health")
    return engine.wait_healthy(store_from(ctx), name, timeout, settings=state_from(ctx).settings)


@app.command("sync")
@click.argument("name")
@click.option("--revision", help="Sync to this revision instead of targetRevision.")
@click.option("--prune", is_flag=True, default=None, help="Delete objects no longer in git.")
@click.option("--dry-run", is_flag=True, help="Show what would be applied; change nothing.")
@click.option("--wait", is_flag=True, help="Wait until the application is Healthy.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds for --wait.")
@app_namespace_option
@out.data_output_option
@click.pass_context
def sync_cmd(
    ctx: click.Context,
    name: str,
    revision: str | None,
    prune: bool | None,
    dry_run: bool,
    wait: bool,
    timeout: float,
    namespace: str | None,
    output: str,
) -> None:
    """Sync an application (an explicit sync also lifts a rollback pin)."""
    name = app_key(name, namespace)
    res = engine.reconcile(
        store_from(ctx),
        name,
        revision=revision,
        prune=prune,
        dry_run=dry_run,
        on_event=_progress,
        unpin=revision is None,
        settings=state_from(ctx).settings,
    )
    _report(res, output, _wait(ctx, name, res, wait, timeout))


@app.command("wait")
@click.argument("name")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait.")
@app_namespace_option
@out.output_option
@click.pass_context
def wait_cmd(ctx: click.Context, name: str, timeout: float, namespace: str | None,
             output: str) -> None:  # fmt: skip
    """Wait until the application is Healthy (exit 1 if Degraded or still not at timeout;
    ``-o``: the Application as it then is)."""
    key = app_key(name, namespace)
    found = engine.wait_healthy(store_from(ctx), key, timeout, settings=state_from(ctx).settings)
    if output in ("table", "wide") or not out.emit(_app_dict(store_from(ctx), key), output):
        click.echo(f"application/{shown(key)} {found}")
    if found != "Healthy":
        raise SystemExit(1)


@app.command("history")
@click.argument("name")
@app_namespace_option
@out.list_options
@click.pass_context
def history_cmd(ctx: click.Context, /, name: str, namespace: str | None, **_: Any) -> None:
    """The revisions this application was synced to."""
    entries = history.history(store_from(ctx), app_key(name, namespace))
    out.report(entries, out.Options.of(ctx), name=lambda h: f"revision/{h['id']}",
               table=out.rows_table(["id", "date", "revision"], _history_row))  # fmt: skip


def _history_row(h: dict[str, Any]) -> list[Any]:
    return [h["id"], h.get("deployedAt"), h.get("revision")]


@app.command("rollback")
@click.argument("name")
@click.argument("history_id", required=False, type=int)
@click.option("--prune", is_flag=True, help="Delete objects the older revision does not have.")
@click.option("--wait", is_flag=True, help="Wait until the application is Healthy.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds for --wait.")
@app_namespace_option
@out.data_output_option
@click.pass_context
def rollback_cmd(
    ctx: click.Context,
    name: str,
    history_id: int | None,
    prune: bool,
    wait: bool,
    timeout: float,
    namespace: str | None,
    output: str,
) -> None:
    """Sync to an earlier history entry (default: the previous one).

    With automated sync on, the application is pinned to that revision (and
    this says so) until an explicit ``shipway app sync NAME``.
    """
    name = app_key(name, namespace)
    res = history.rollback(
        store_from(ctx),
        name,
        history_id,
        prune=prune,
        on_event=_progress,
        settings=state_from(ctx).settings,
    )
    if res.pinned:
        out.stderr.print(
            f"application/{shown(name)}: automated sync is on; pinned to "
            f"{res.revision[:12]} until `shipway app sync {shown(name)}`"
        )
    _report(res, output, _wait(ctx, name, res, wait, timeout))


@app.command("delete")
@click.argument("name")
@click.option(
    "--cascade/--no-cascade",
    default=True,
    show_default=True,
    help="Also delete the application's live objects.",
)
@app_namespace_option
@out.output_option
@click.pass_context
def delete_cmd(ctx: click.Context, name: str, cascade: bool, namespace: str | None,
               output: str) -> None:  # fmt: skip
    """Delete an application (and, by default, what it deployed). ``-o name`` prints
    ``application/NAME``, ``-o json|yaml`` the Application as it was."""
    key = app_key(name, namespace)
    last = _app_dict(store_from(ctx), key) if output not in ("table", "wide") else None
    for r in history.delete_app(
        store_from(ctx), key, cascade=cascade, settings=state_from(ctx).settings
    ):
        out.stderr.print(f"{r.key}: {r.status} {r.message}", highlight=False)
    if last is None or not out.emit(last, output):
        click.echo(f"application/{shown(key)} deleted")
