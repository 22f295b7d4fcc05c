"""``shipway promote --project P --freight NAME|ALIAS --stage S [--wait]``, as ``kargo promote``.

Makes a Promotion from the Stage's ``promotionTemplate`` (named
``<stage>.<ulid>.<freight[:7]>``), stores it, and runs it: in this process
when no controller is running (as ``shipway app sync`` syncs locally), else
the controller's promotion lane runs it. ``--wait`` waits for the end: exit 0
when it Succeeded, 1 when it Failed or Errored (naming the step and its
message). In this process the promotion always runs to its end, and then
the stage's verification (to its end with ``--wait``). ``-o json|yaml|name|...``
prints the Promotion as stored once it was made (or, run here or with
``--wait``, once it ended) instead of the progress lines. The gates
(``promote.start``: one promotion per stage, promotion windows, soak and
availability) refuse with exit 4 and the reason. Logged in to a controller
(``shipway login`` or ``--server``), the promotion is asked of its API and runs
there as the logged-in account (``--wait`` is refused there).
"""

from __future__ import annotations

import time
from typing import Any

import click
import httpx

from shipway.cli import output as out
from shipway.cli import remote, scope
from shipway.cli.context import state_from
from shipway.model.errors import InputError


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
@remote.server_option
@out.output_option
def promote(project: str | None, freight_ref: str, stage: str, wait: bool, timeout: float,
            server: str | None, output: str) -> None:  # fmt: skip
    """Promote Freight to a Stage.

    Refused (exit 4, saying why) while the stage has a promotion under way,
    while a promotion window closes it, or while the Freight is not available
    to it (not approved, or not verified and soaked upstream: the time left
    is shown). Through a controller it runs there, as the logged-in account.
    """
    from shipway.promote import runner
    from shipway.promote import start as start_mod

    ns = project or scope.current()
    t = remote.target(click.get_current_context(), server)
    if t is not None:
        if wait:
            raise InputError("'shipway promote --wait' works on the local store only: through "
                             "a controller, leave out --wait and follow it with 'shipway get' "
                             "or the web UI", subject="--wait")  # fmt: skip
        got = remote.call(t, "POST", f"/api/v1/promotions/{ns}/{stage}/promote",
                          json={"freight": freight_ref}).json()  # fmt: skip
        if output in ("table", "wide"):
            click.echo(f"promotion.kargo.akuity.io/{got['name']} created")
        else:
            out.emit(got, output, name="promotion.kargo.akuity.io")  # the API's summary
        return
    state = state_from(click.get_current_context())
    store = state.store
    started = start_mod.start(store, project=ns, stage=stage, freight=freight_ref,
                              actor=actor())  # fmt: skip
    name, key = started.name, started.key
    machine = output not in ("table", "wide")
    if not machine:
        click.echo(f"promotion.kargo.akuity.io/{name} created")
    if _controller_up(state.settings.resolved_controller_url()):
        start_mod.queue(store, key)
        if not wait:
            if machine:
                _emit(store, name, ns, output)
            return
        status = _poll(store, key, timeout)
    else:
        status = runner.run(store, state.settings, key, on_progress=_progress)
        if status["phase"] == "Succeeded":
            _verify_here(store, state.settings, ns, stage, timeout if wait else 0.0)
    if machine:
        _emit(store, name, ns, output)
        if status["phase"] != "Succeeded":
            raise SystemExit(1)
        return
    _report(name, status)


def _emit(store: Any, name: str, namespace: str, output: str) -> None:
    """The Promotion as stored, in ``output``'s format."""
    from shipway.store import resources as store_resources

    out.emit(store_resources.get(store, "Promotion", name, namespace).to_object(), output)


def actor() -> str:
    """Who acts: the OS user, as shipway trusts it on the local store."""
    import getpass

    return getpass.getuser()


def _verify_here(store: Any, settings: Any, project: str, stage: str, timeout: float) -> None:
    """No controller: run the stage's verification here (to its end with --wait)."""
    from shipway.promote import lifecycle, verification

    keys = [k for k in verification.unfinished(store) if k.startswith(f"{project}/{stage}.")]
    if not keys:
        return
    if timeout <= 0:
        click.echo(f"verification analysisrun/{keys[0].split('/', 1)[1]} started (the controller "
                   "runs it; or: shipway stage verify --wait)", err=True)  # fmt: skip
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lifecycle.tick(store, settings)
        found = verification.phase_of(store, keys[0])
        if found and found[0] in verification.FINAL:
            msg = found[1].get("message", "")
            click.echo(f"verification analysisrun/{keys[0].split('/', 1)[1]} {found[0]}"
                       + (f": {msg}" if msg else ""), err=True)  # fmt: skip
            return
        time.sleep(0.2)


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
