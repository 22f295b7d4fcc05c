"""``shipway metrics dora [--app A] [--since 30d] -o table|json|yaml``: DORA from releases.

Reads the release records (local store, or the controller's ``/api/releases``
when logged in) and computes deployment frequency, lead time for changes,
change failure rate and time to restore (``shipway.model.dora``).
"""

from __future__ import annotations

import datetime as dt

import click

from shipway.cli.groups import SuggestingGroup
from shipway.cli.output import data_output_option
from shipway.model import dora


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


@click.group("metrics", cls=SuggestingGroup)
def metrics() -> None:
    """Delivery metrics computed from the release records."""


@metrics.command("dora")
@click.option("--app", default=None, help="Only this application's releases.")
@click.option("--since", "window", default="30d", show_default=True, help="Window: 30d, 12h, 2w.")
@data_output_option
@click.pass_context
def dora_cmd(ctx: click.Context, app: str | None, window: str, output: str) -> None:
    """Deployment frequency, lead time, change failure rate and time to restore."""
    from shipway.cli import output as out
    from shipway.cli import remote
    from shipway.model.release import Release

    span = dora.parse_window(window)
    until = dt.datetime.now(dt.UTC)
    target = remote.target(ctx)
    if target is not None:
        params = {"limit": 100_000, **({"app": app} if app else {})}
        rels = [Release.from_dict(r) for r in remote.get_json(target, "/api/releases", **params)]
    else:
        from shipway.cli.context import reader_from
        from shipway.store import reads

        rels = reads.list_releases(reader_from(ctx), app=app, limit=100_000)
    result = dora.compute(rels, since=until - span, until=until, app=app)
    if out.emit(result.to_dict(), output):
        return
    cfr = result.change_failure_rate
    out.table(
        ["metric", "value"],
        [
            ["deployment frequency", f"{result.deployment_frequency_per_day:.2f}/day "
             f"({result.deployments} live in {window})"],
            ["lead time (median)", _age(result.lead_time_median_seconds)],
            ["lead time (p90)", _age(result.lead_time_p90_seconds)],
            ["change failure rate", "-" if cfr is None else f"{cfr:.0%} "
             f"({result.failures} of {result.deployments + result.failures})"],
            ["time to restore (median)", _age(result.time_to_restore_median_seconds)
             + (f" ({result.unrestored} not restored)" if result.unrestored else "")],
        ],
    )  # fmt: skip
