"""``shipway approve``, ``shipway stage verify|unhold`` and ``shipway promotion abort``.

In the Kargo CLI's shapes: ``approve --project P --freight F --stage S``
(``kargo approve``), ``stage verify --project P S`` (re-run the stage's
verification of the Freight it holds; ``--wait`` runs it here to its end
when no controller does), ``promotion abort --project P NAME`` (Kargo's
``Aborted`` phase). The acting person is the OS user on the local store; logged
in to a controller (``shipway login``, or ``--server``), each goes through its
API (``/api/v1/promotions/...``) and acts as the logged-in account, which RBAC
checks (``promotions``, ``approve``/``verify``/``abort``, ``<project>/<stage>``).

Each takes ``-o json|yaml|name|jsonpath=...``: the object it acted on as stored
(the Freight, the AnalysisRun, the Promotion), through a controller its API's
summary; ``-o name`` prints ``kind/name``.
"""

from __future__ import annotations

import time

import click

from shipway.cli import output as out
from shipway.cli import remote, scope
from shipway.cli.context import state_from
from shipway.cli.promote import _controller_up, actor
from shipway.cli.warehouse import emit_stored
from shipway.model.errors import InputError

_PROJECT = click.option("--project", "-n", "--namespace", "project", default=None,
                        help="The Kargo Project (namespace).")  # fmt: skip


@click.command()
@_PROJECT
@click.option("--freight", "freight_ref", required=True, help="The Freight's name or alias.")
@click.option("--stage", required=True, help="The Stage to approve it for.")
@remote.server_option
@out.output_option
def approve(project: str | None, freight_ref: str, stage: str, server: str | None,
            output: str) -> None:  # fmt: skip
    """Approve Freight for a Stage (it may then be promoted there without verification
    upstream). A Stage's approval policy may ask for several approvers, roles, and no
    self-approval (exit 6 when refused). Through a controller the approver is the
    logged-in account."""
    ns = project or scope.current()
    t = remote.target(click.get_current_context(), server)
    if t is not None:
        got = remote.call(t, "POST", f"/api/v1/promotions/{ns}/{stage}/approve",
                          json={"freight": freight_ref}).json()  # fmt: skip
        name, given, required = got["freight"], got["approvals"], got["required"]
        done = bool(got["approved"])
        if out.emit(got, output, name=lambda g: f"freight.kargo.akuity.io/{g['freight']}"):
            return
    else:
        from shipway.promote import approvals

        store = state_from(click.get_current_context()).store
        found = approvals.approve(store, ns, freight_ref, stage, actor())
        name, given, required, done = found.freight, found.given, found.required, found.done
        if emit_stored(store, "Freight", name, ns, output):
            return
    if done:
        click.echo(f"freight.kargo.akuity.io/{name} approved for stage {stage}")
    else:
        click.echo(f"freight.kargo.akuity.io/{name}: approval {given} of {required} for "
                   f"stage {stage}")  # fmt: skip


@click.group()
def stage() -> None:
    """Act on Kargo Stages."""


@stage.command("verify")
@_PROJECT
@click.argument("name")
@click.option("--wait", is_flag=True, help="Wait for the verification's end (exit 1 unless "
              "Successful).")  # fmt: skip
@click.option("--timeout", default=600.0, show_default=True, help="Seconds for --wait.")
@remote.server_option
@out.output_option
def verify(project: str | None, name: str, wait: bool, timeout: float,
           server: str | None, output: str) -> None:  # fmt: skip
    """Re-run the stage's verification of the Freight it holds (``-o``: the AnalysisRun,
    at its end with ``--wait``; the Stage when it has no verification)."""
    from shipway.promote import lifecycle, verification

    t = remote.target(click.get_current_context(), server)
    if t is not None:
        if wait:
            raise _no_wait("stage verify")
        got = remote.call(t, "POST", f"/api/v1/promotions/{project or scope.current()}/{name}"
                          "/verify").json()  # fmt: skip
        run_name = lambda g: f"analysisrun.argoproj.io/{g.get('analysisRun')}"  # noqa: E731
        if got["started"] and out.emit(got, output, name=run_name):
            return
        if not got["started"] and out.emit(got, output, name=lambda _g: f"stage/{name}"):
            return
        if not got["started"]:
            click.echo(f"stage {name} has no verification: its Freight is verified")
        else:
            click.echo(f"analysisrun.argoproj.io/{got['analysisRun']} created")
        return
    state = state_from(click.get_current_context())
    store = state.store
    ns = project or scope.current()
    key = verification.verify_stage(store, ns, name, actor=actor())
    if key is None:
        if not emit_stored(store, "Stage", name, ns, output):
            click.echo(f"stage {name} has no verification: its Freight is verified")
        return
    run = key.split("/", 1)[1]
    machine = output not in ("table", "wide")
    if not machine:
        click.echo(f"analysisrun.argoproj.io/{run} created")
    if not wait:
        emit_stored(store, "AnalysisRun", run, ns, output)
        return
    here = not _controller_up(state.settings.resolved_controller_url())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if here:
            lifecycle.tick(store, state.settings)
        found = verification.phase_of(store, key)
        if found and found[0] in verification.FINAL:
            msg = found[1].get("message", "")
            if not emit_stored(store, "AnalysisRun", run, ns, output):
                click.echo(f"analysisrun.argoproj.io/{run} {found[0]}" + (f": {msg}" if msg
                                                                             else ""))  # fmt: skip
            raise SystemExit(0 if found[0] == "Successful" else 1)
        time.sleep(0.2)
    click.echo(f"analysisrun.argoproj.io/{run}: not finished after {timeout:g}s", err=True)
    raise SystemExit(1)


@stage.command("unhold")
@_PROJECT
@click.argument("name")
@click.option("--origin", default=None, help="Only this origin (Warehouse/NAME); default all.")
def unhold(project: str | None, name: str, origin: str | None) -> None:
    """Lift the stage's auto-promotion holds (a rollback's, or a manual promotion's pin)."""
    from shipway.promote import records
    from shipway.store import resources as store_resources

    store = state_from(click.get_current_context()).store
    ns = project or scope.current()
    res = store_resources.get(store, "Stage", name, ns)
    holds = list((res.status or {}).get("autoPromotionHolds") or {})
    lifted = [o for o in holds if origin in (None, o) and records.lift_hold(store, ns, name, o)]
    click.echo(f"stage {name}: lifted {', '.join(lifted) or 'no hold'}")


@click.group()
def promotion() -> None:
    """Act on Kargo Promotions."""


@promotion.command("abort")
@_PROJECT
@click.argument("name")
@remote.server_option
@out.output_option
def abort(project: str | None, name: str, server: str | None, output: str) -> None:
    """Abort a Pending or Running promotion (it ends Aborted)."""
    from shipway.promote import runner

    ns = project or scope.current()
    t = remote.target(click.get_current_context(), server)
    if t is not None:
        got = remote.call(t, "POST", f"/api/v1/projects/{ns}/promotions/{name}/abort").json()
        if out.emit(got, output, name=lambda _g: f"promotion.kargo.akuity.io/{name}"):
            return
        phase = str(got["phase"])
    else:
        store = state_from(click.get_current_context()).store
        phase = runner.request_abort(store, runner.key_of(ns, name), actor())
        if emit_stored(store, "Promotion", name, ns, output):
            return
    verb = "aborted" if phase == "Aborted" else f"abort requested (it is {phase})"
    click.echo(f"promotion.kargo.akuity.io/{name} {verb}")


def _no_wait(command: str) -> InputError:
    return InputError(f"'shipway {command} --wait' works on the local store only: through a "
                      "controller, leave out --wait and follow it with 'shipway get' or the web "
                      "UI", subject="--wait")  # fmt: skip
