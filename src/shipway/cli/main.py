"""Entry point of the ``shipway`` command.

``shipway --version`` answers before anything else loads (not even click or
``typing``); every other command runs ``shipway.cli.root``. ``cli`` (the click
group) is importable from here, loaded on first use.

The everyday reads (``get``, ``app list``, ``release list``, ``ci list``; not
``--watch``), started as the ``shipway`` script, are answered without click
where ``shipway.cli.quick`` knows their form (click's import is a third of
their time; any other form goes to click), run without the cyclic garbage
collector (a short read allocates little beyond its imports, and collecting
them costs more than the command) and leave with ``os._exit`` once their
output is flushed: tearing the interpreter down would cost more than the
answer. Called with ``argv`` (tests, other code), ``main`` returns as usual.
May touch: the process's exit, its stdout and stderr.
"""

from __future__ import annotations

import sys

QUICK = (("get",), ("app", "list"), ("release", "list"), ("ci", "list"))
"""Commands that only read and print (as their first words, after any root option)."""


def quick(args: list[str]) -> bool:
    """Whether ``args`` is one of the ``QUICK`` reads (and not a watch)."""
    words = [a for a in args if a != "--core"]
    if any(a in ("-w", "--watch", "--watch-only") for a in words):
        return False
    return any(tuple(words[: len(q)]) == q for q in QUICK)


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args == ["--version"]:
        from shipway import __version__

        sys.stdout.write(f"shipway, version {__version__}\n")
        return
    if argv is not None or not quick(args):
        from shipway.cli.root import run

        run(args)
        return
    import gc

    gc.disable()
    try:
        code: object = 0
        from shipway.cli.quick import run as answer

        if not answer(args):  # a form only click knows
            from shipway.cli.root import run

            run(args)
    except SystemExit as exc:
        code = exc.code
    _leave(code)


def _leave(code: object) -> None:
    """Flush, then end the process at once with ``code`` (as ``SystemExit`` would)."""
    import os

    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe (``| head``): the interpreter's own handling, as before
        raise SystemExit(code) from None
    os._exit(code)


def __getattr__(name: str) -> object:
    if name == "cli":
        from shipway.cli.root import cli

        return cli
    raise AttributeError(name)


if __name__ == "__main__":
    main()
