"""``shipway release list|get``: the release records, as tables, JSON or YAML."""

from __future__ import annotations

from typing import Any

import click

from shipway.cli import output as out
from shipway.cli import remote
from shipway.cli.context import reader_from, store_from
from shipway.cli.groups import SuggestingGroup
from shipway.model import namespaces
from shipway.model.release import Release
from shipway.store import reads


def timeline(rel: Release) -> str:
    """A release as lines of stage, status and duration, for people."""
    lines = [f"release {rel.id}  app={rel.app}  commit={rel.commit[:12]}  status={rel.status}"]
    for st in rel.stages:
        secs = f"{st.seconds:6.2f}s" if st.seconds is not None else "      -"
        msg = f"  {st.message}" if st.message else ""
        lines.append(f"  {st.name:<8} {st.status:<10} {secs}{msg}")
    if rel.image:
        lines.append(f"  image          {rel.image}")
    if rel.config_commit:
        lines.append(f"  config commit  {rel.config_commit}")
    if rel.finished:
        lines.append(f"  total          {(rel.finished - rel.created).total_seconds():.2f}s")
    return "\n".join(lines)


@click.group(cls=SuggestingGroup)
def release() -> None:
    """Release records: commit → CI run → image → config commit → live revision."""


def release_row(r: dict[str, Any]) -> list[Any]:
    """A release record's row in ``release list``."""
    secs = r.get("seconds")
    duration = f"{secs:.1f}s" if isinstance(secs, int | float) else ""
    return [r.get("id"), r.get("app"), str(r.get("commit") or "")[:12], r.get("status"),
            str(r.get("image") or "")[-24:], duration]  # fmt: skip


@release.command("list")
@click.option("--app", help="Only releases of this application (NAME or NS/NAME).")
@click.option("--limit", default=50, show_default=True)
@remote.server_option
@out.list_options
@out.watch_option
@click.pass_context
def list_cmd(
    ctx: click.Context, /, app: str | None, limit: int, server: str | None, watch: bool, **_: Any
) -> None:
    """List releases, newest first."""
    if app:
        app = namespaces.app_key(app)  # releases name an app as the engines do: dev_web
    t = remote.target(ctx, server)

    def fetch() -> list[dict[str, Any]]:
        if t is not None:
            data: list[dict[str, Any]] = remote.get_json(t, "/api/releases", app=app, limit=limit)
            return [Release.from_dict(d).to_dict() for d in data]
        return [r.to_dict() for r in reads.list_releases(reader_from(ctx), app=app, limit=limit)]

    headers = ["id", "app", "commit", "status", "image", "duration"]
    table = out.rows_table(headers, release_row)
    if watch:
        out.watch(fetch, out.Options.of(ctx), table=table, name="release")
        return
    out.report(fetch(), out.Options.of(ctx), table=table, name="release")


@release.command("get")
@click.argument("release_id")
@remote.server_option
@out.output_option
@click.pass_context
def get_cmd(ctx: click.Context, release_id: str, server: str | None, output: str) -> None:
    """Show one release (an id or a unique prefix) as a timeline."""
    t = remote.target(ctx, server)
    if t is not None:
        rel = Release.from_dict(remote.get_json(t, f"/api/releases/{release_id}"))
    else:
        from shipway.store import releases

        rel = releases.get(store_from(ctx), release_id)
    if not out.emit(rel.to_dict(), output):
        click.echo(timeline(rel))
