"""``shipway preview list|get|delete|gc``: the previews of pull requests, as Jenkins X's
``jx preview`` and ``jx gc previews`` show and remove them.

``list`` and ``get`` print the pull request, phase, URL, age and expiry
(``-o wide`` adds the Applications, image, commit, branch and namespace;
``-o json|yaml`` the whole record, ``-o name`` ``preview/<name>``; ``list`` takes
``--sort-by`` and ``--field-selector`` on the record too). ``delete``
tears one down now (the next push to its pull request brings it back);
``gc`` removes the expired ones and those whose pull request is closed. Times
are RFC 3339 UTC. Exit codes: 1 a preview that failed to tear down, 3 not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from shipway.cli import output
from shipway.cli.context import state_from


@click.group()
def preview() -> None:
    """Preview environments of pull requests (ApplicationSets with shipway.dev/previews)."""


def _engine() -> Any:
    from shipway.promote.previews.engine import Previews

    state = state_from(click.get_current_context())
    return Previews(state.store, state.settings)


def _rows(items: Sequence[Any], wide: bool) -> tuple[list[str], list[list[Any]]]:
    import datetime as dt

    from shipway.model.selectors import age

    at = dt.datetime.now(dt.UTC)
    headers = ["name", "pr", "phase", "url", "age", "expires"]
    if wide:
        headers += ["applications", "image", "commit", "branch", "namespace", "message"]
    rows = []
    for p in items:
        d = p.to_dict()
        row = [p.name, f"#{p.number}", p.phase, p.preview_url or "<none>", age(p.created, at),
               d["expires"] or "<never>"]  # fmt: skip
        if wide:
            row += [",".join(p.applications) or "<none>", p.image or "<none>", p.head_sha[:12],
                    p.branch, p.namespace or "<none>", p.message]  # fmt: skip
        rows.append(row)
    return headers, rows


def _show(items: list[Any], fmt: str, no_headers: bool, single: bool = False) -> None:
    dicts = [_record(p) for p in items]
    if single and output.emit(dicts[0], fmt, name="preview"):
        return
    if not single and output.emit_list(dicts, fmt, name="preview"):
        return
    headers, rows = _rows(items, fmt == "wide")
    output.table(headers, rows, no_headers)


def _record(p: Any) -> dict[str, Any]:
    """A preview as ``-o json`` shows it (and ``--sort-by``, ``--field-selector`` see it)."""
    return {k: v for k, v in p.to_dict().items() if k != "application"}


@preview.command("list")
@click.option("--appset", default=None, help="Only the previews of this ApplicationSet.")
@output.list_options
@click.pass_context
def list_(ctx: click.Context, /, appset: str | None, **_: Any) -> None:
    """List the previews."""
    from shipway.store import previews as store_previews

    state = state_from(ctx)
    items = [p for p in store_previews.list_all(state.store) if appset in (None, p.appset)]
    output.report(items, output.Options.of(ctx), table=_rows, name="preview", data=_record)


@preview.command()
@click.argument("name")
@output.output_option
@output.no_headers_option
def get(name: str, output: str, no_headers: bool) -> None:
    """Show one preview."""
    from shipway.cli import output as out
    from shipway.model.errors import NotFoundError
    from shipway.store import previews as store_previews

    state = state_from(click.get_current_context())
    p = store_previews.get(state.store, name)
    if p is None:
        out.fail(NotFoundError(f"preview {name!r} not found", subject=f"Preview/{name}"))
    _show([p], output, no_headers, single=True)


@preview.command()
@click.argument("name")
def delete(name: str) -> None:
    """Tear preview NAME down now (its Applications, pods, namespace and ports)."""
    from shipway.model.errors import ShipwayError
    from shipway.store import previews as store_previews

    state = state_from(click.get_current_context())
    try:
        _engine().delete(name)
    except ShipwayError as exc:
        output.fail(exc)
    if store_previews.get(state.store, name) is not None:
        click.echo(f"preview/{name}: teardown failed (see shipway get events)", err=True)
        raise SystemExit(1)
    click.echo(f'preview "{name}" deleted')


@preview.command()
@click.option("--dry-run", is_flag=True, help="Only print what would be removed.")
def gc(dry_run: bool) -> None:
    """Remove expired previews and those whose pull request is closed."""
    from shipway.model.errors import ShipwayError
    from shipway.store import previews as store_previews

    state = state_from(click.get_current_context())
    engine = _engine()
    actions = list(engine.expired())
    for appset in engine.appsets():
        try:
            actions += engine.refresh(appset, teardowns_only=True)
        except ShipwayError as exc:
            output.stderr.print(output.error_line(str(exc)), soft_wrap=True)
    seen: set[str] = set()
    failed = False
    for a in actions:
        if a.preview in seen:
            continue
        seen.add(a.preview)
        if not dry_run:
            engine.run(a)
            failed = failed or store_previews.get(state.store, a.preview) is not None
        click.echo(f"preview/{a.preview} {'would be ' if dry_run else ''}deleted: {a.reason}")
    if failed:
        raise SystemExit(1)
