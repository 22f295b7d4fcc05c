"""``shipway controller``: run the controller (webhook receivers + workers) in the foreground.

It listens on 127.0.0.1 unless ``--host`` says otherwise; another address
needs TLS (``--tls-cert`` and ``--tls-key``) or an explicit ``--insecure``.
``--metrics-port PORT`` also serves ``/metrics`` on 127.0.0.1:PORT with no
credential (as Argo CD serves metrics on a port of their own); on the main
port ``/metrics`` needs a token (``shipway.server.metrics``).
On a store with no accounts it first creates ``admin`` and writes its
password and token to ``$SHIPWAY_HOME/initial-admin.json`` (mode 0600).
"""

from __future__ import annotations

import ipaddress
import logging

import click

from shipway.cli.context import state_from
from shipway.model.errors import InputError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, cert: str | None, key: str | None, insecure: bool) -> None:
    """Refuse a non-loopback address without TLS, unless ``insecure``."""
    if bool(cert) != bool(key):
        raise InputError("--tls-cert and --tls-key go together", subject="controller")
    if not is_loopback(host) and not cert and not insecure:
        raise InputError(
            f"refusing to listen on {host} without TLS: give --tls-cert and --tls-key, "
            "or --insecure to serve plain HTTP there anyway",
            subject="controller",
        )


@click.command("controller")
@click.option("--port", default=8480, show_default=True, help="Port to listen on.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; other than loopback it needs TLS or --insecure.",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="PEM private key.")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP on a non-loopback address.")
@click.option(
    "--resync",
    default=180.0,
    show_default=True,
    help="Seconds between self-heal and registry polling passes.",
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Also serve /metrics without a credential on 127.0.0.1:PORT (loopback only).",
)
@click.pass_context
def controller(
    ctx: click.Context,
    port: int,
    host: str,
    tls_cert: str | None,
    tls_key: str | None,
    insecure: bool,
    resync: float,
    metrics_port: int | None,
) -> None:
    """Receive git and registry events and drive CI, image updates and syncs."""
    check_binding(host, tls_cert, tls_key, insecure)
    import uvicorn

    from shipway.auth import accounts
    from shipway.controller.core import Controller
    from shipway.server.app import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log = logging.getLogger("shipway.controller")
    state = state_from(ctx)
    written = accounts.bootstrap_admin(state.store, state.settings.home)
    if written is not None:
        log.info("created account admin; its password and token are in %s", written)
    if not is_loopback(host) and not tls_cert:
        log.warning("serving plain HTTP on %s (--insecure): tokens cross the network in clear",
                    host)  # fmt: skip
    ctl = Controller(state.settings, state.store)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from shipway.server.metrics import registry_for

        start_http_server(metrics_port, addr="127.0.0.1", registry=registry_for(state.store))
        log.info("serving /metrics without a credential on 127.0.0.1:%d", metrics_port)
    ctl.start(resync)
    app = create_app(ctl)
    _freeze_startup_heap()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning",
                    access_log=False, ssl_certfile=tls_cert, ssl_keyfile=tls_key)  # fmt: skip
    finally:
        ctl.shutdown()
        from shipway.server import hookcount

        hookcount.flush_all()  # webhook counts not yet stored


def _freeze_startup_heap() -> None:
    """Move what start-up built (modules, schemas, the app) out of the collector's view.

    Those objects live as long as the process, yet every full collection walked them
    all: 55-300 ms pauses of the whole process in the middle of a webhook burst
    (``bench/webhooks.py``). After ``gc.freeze`` a collection looks only at what came later.
    """
    import gc

    gc.collect()
    gc.freeze()
