"""``shipway promote --project P --freight NAME|ALIAS --stage S [--wait]``, as ``kargo promote``.

Makes a Promotion from the Stage's ``promotionTemplate`` (named
``<stage>.<ulid>.<freight[:7]>``), stores it, and runs it: in this process
when no controller is running (as ``shipway app sync`` syncs locally), else
the controller's promotion lane runs it. ``--wait`` waits for the end: exit 0
when it Succeeded, 1 when it Failed or Errored (naming the step and its
message). In this process the promotion always runs to its end.
"""

from __future__ import annotations

import time
from typing import Any

import click
import httpx

from shipway.cli import scope
from shipway.cli.context import state_from


def _controller_up(url: str) -> bool:
    if not url:
        return False
    try:
        httpx.get(url.rstrip("/") + "/healthz", timeout=1.0)
    except httpx.HTTPError:
        return False
    return True


def _progress(event: dict[str, Any]) -> None:
    if "step" in event and event.get("status") not in (None, "Running"):
        extra = f": {event['message']}" if event.get("message") else ""
        click.echo(f"  {event['step']} ({event['uses']}) {event['status']}{extra}", err=True)


@click.command()
@click.option("--project", "-n", "--namespace", "project", default=None,
              help="The Kargo Project (namespace).")  # fmt: skip
@click.option("--freight", "freight_ref", required=True, help="The Freight's name or alias.")
@click.option("--stage", required=True, help="The Stage to promote to.")
@click.option("--wait", is_flag=True, help="Wait for the promotion to finish; exit 1 if it fails.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds for --wait.")
def promote(project: str | None, freight_ref: str, stage: str, wait: bool, timeout: float) -> None:
    """Promote Freight to a Stage."""
    from shipway.controller import promotions as lane
    from shipway.promote import runner
    from shipway.promote.start import start

    state = state_from(click.get_current_context())
    store = state.store
    ns = project or scope.current()
    started = start(store, ns, stage, freight_ref)
    name, key = started.name, started.key
    click.echo(f"promotion.kargo.akuity.io/{name} created")
    if _controller_up(state.settings.resolved_controller_url()):
        lane.enqueue(store, key)
        if not wait:
            return
        status = _poll(store, key, timeout)
    else:
        status = runner.run(store, state.settings, key, on_progress=_progress)
    _report(name, status)


def _poll(store: Any, key: str, timeout: float) -> dict[str, Any]:
    from shipway.promote import runner
    from shipway.promote import status as st

    deadline = time.monotonic() + timeout
    while True:
        found = runner.phase_of(store, key)
        if found and found[0] in st.TERMINAL:
            return st.promotion_status(found[0], found[1]["metas"], found[1]["outputs"],
                                       found[1]["freight"], current=found[1]["current"],
                                       message=found[1].get("message", ""))  # fmt: skip
        if time.monotonic() > deadline:
            click.echo(f"promotion {key}: still {found[0] if found else '?'} after {timeout:g}s",
                       err=True)  # fmt: skip
            raise SystemExit(1)
        time.sleep(0.3)


def _report(name: str, status: dict[str, Any]) -> None:
    phase = status["phase"]
    if phase == "Succeeded":
        click.echo(f"promotion.kargo.akuity.io/{name} Succeeded")
        return
    click.echo(f"promotion.kargo.akuity.io/{name} {phase}: {status.get('message', '')}", err=True)
    raise SystemExit(1)
