"""``shipway controller``: run the controller (webhook receivers + workers) in the foreground."""

from __future__ import annotations

import logging

import click

from shipway.cli.context import state_from


@click.command("controller")
@click.option("--port", default=8480, show_default=True, help="Port on 127.0.0.1.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--resync",
    default=180.0,
    show_default=True,
    help="Seconds between self-heal and registry polling passes.",
)
@click.pass_context
def controller(ctx: click.Context, port: int, host: str, resync: float) -> None:
    """Receive git and registry events and drive CI, image updates and syncs."""
    import uvicorn

    from shipway.controller.core import Controller
    from shipway.server.app import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    state = state_from(ctx)
    ctl = Controller(state.settings, state.store)
    ctl.start(resync)
    try:
        uvicorn.run(create_app(ctl), host=host, port=port, log_level="warning")
    finally:
        ctl.shutdown()
