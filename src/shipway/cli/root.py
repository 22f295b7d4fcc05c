"""The ``shipway`` command group and its error handling (``shipway.cli.main`` starts it)."""

from __future__ import annotations

import os
import sys

import click

from shipway import __version__
from shipway.cli import output
from shipway.cli.groups import LazyGroup
from shipway.model.errors import ShipwayError


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shipway")
@click.option(
    "--core",
    is_flag=True,
    envvar="SHIPWAY_CORE",
    help="Work on the local store even when logged in to a controller (as argocd --core).",
)
def cli(core: bool) -> None:
    """shipway: GitOps CI/CD from a commit to a running, verified deployment."""


def run(argv: list[str] | None = None) -> None:
    """Run the CLI on ``argv`` (default: the process's), errors as kubectl prints them."""
    try:
        cli.main(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)
    except ShipwayError as exc:
        output.fail(exc)
    except click.exceptions.Abort:
        output.stderr.print("aborted")
        raise SystemExit(130) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(2) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # a bug in shipway: one line, no traceback (unless asked for)
        if os.environ.get("SHIPWAY_TRACEBACK"):
            raise
        output.stderr.print(
            output.error_line(
                f"internal error: {type(exc).__name__}: {exc} (a bug in shipway; "
                "SHIPWAY_TRACEBACK=1 shows where)"
            )
        )
        raise SystemExit(1) from None
