"""``shipway demo [--clean]``: run the end-to-end demo, or remove what it made."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shipway.cli import output as out
from shipway.cli.context import state_from
from shipway.cli.release import timeline

if TYPE_CHECKING:
    from shipway.demo.run import Outcome


def _echo_stages(o: Outcome) -> None:
    """The release's Freight in test, uat and prod, each stage as a timeline."""
    from shipway.demo import flow

    if o.stages is not None:
        click.echo(flow.timeline(o.stages))


@click.command("demo")
@click.option("--clean", is_flag=True, help="Remove everything the demo made and exit.")
@click.option("--changes", default=2, show_default=True, help="How many app commits to ship.")
@click.option("--timeout", default=240.0, show_default=True, help="Seconds per release.")
@click.option(
    "--ci", "ci", type=click.Choice(["github", "tekton"]), default="github", show_default=True,
    help="The app's CI: a GitHub Actions workflow, or a Tekton PipelineRun in .tekton/.",
)  # fmt: skip
@out.data_output_option
@click.pass_context
def demo(ctx: click.Context, clean: bool, changes: int, timeout: float, ci: str,
         output: str) -> None:  # fmt: skip
    """Ship commits of a sample app through CI, registry, config repo and podman, for real."""
    from shipway.demo import clean as clean_mod
    from shipway.demo import run as run_mod

    state = state_from(ctx)
    if clean:
        for line in clean_mod.clean(state.settings):
            click.echo(line)
        return
    result = run_mod.run(
        state.settings,
        state.store,
        lambda s: out.stderr.print(s),
        changes=changes,
        timeout=timeout,
        ci=ci,
    )
    outcomes = result.outcomes
    data = [
        {
            "release": o.release.to_dict(),
            "answer": o.answer,
            "commit_to_healthy_seconds": (o.healthy_at - o.pushed_at) if o.healthy_at else None,
            "promotion": o.stages.to_dict() if o.stages else None,
        }
        for o in outcomes
    ]
    if not out.emit({"releases": data, "app_url": result.app_url}, output):
        for o in outcomes:
            click.echo(timeline(o.release))
            if o.healthy_at:
                click.echo(f"  commit to healthy  {o.healthy_at - o.pushed_at:.2f}s")
            if o.answer:
                click.echo(f"  app answers        {o.answer}")
            _echo_stages(o)
            click.echo("")
        click.echo(f"the app answers at {result.app_url}")
    failed = run_mod.failed_stage(outcomes)
    if failed:
        out.stderr.print(out.error_line(f"demo failed in stage {failed}"))
        raise SystemExit(1)
