"""Entry point of the ``shipway`` command.

``shipway --version`` answers before anything else loads (not even click or
``typing``); every other command runs ``shipway.cli.root``. ``cli`` (the click
group) is importable from here, loaded on first use.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args == ["--version"]:
        from shipway import __version__

        sys.stdout.write(f"shipway, version {__version__}\n")
        return
    from shipway.cli.root import run

    run(args)


def __getattr__(name: str) -> object:
    if name == "cli":
        from shipway.cli.root import cli

        return cli
    raise AttributeError(name)


if __name__ == "__main__":
    main()
