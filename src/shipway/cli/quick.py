"""The everyday reads without click: ``get KIND``, ``app list``, ``release list``, ``ci list``.

Run all day, they must answer in well under 100 ms, and importing click (with
``inspect``, ``uuid``, ``gettext`` and the rest) is a third of that. ``run(args)``
parses the common forms of these four commands itself and answers them from the
local store with the very code the click commands use (``shipway.cli.list_views``
for the columns, ``shipway.cli.output`` for every ``-o``, ``shipway.store.reads``);
it returns False, having printed nothing, for anything else: an option or form it
does not know (``-h``, ``get KIND NAME``, ``get events``, ``get namespaces``,
``--server``, a bad ``--limit``), or a ``shipway login`` context (the commands
then go to the controller). Those run through click (``shipway.cli.root``), which
also gives every usage error its message. Bad input it does see (``-o``, ``-l``,
a kind) is the same ``ShipwayError`` the click commands raise, printed as they do.
May touch: the store (read only), stdout and stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipway.cli import optspec

if TYPE_CHECKING:
    from shipway.cli.output import Options
    from shipway.store.reads import Reader

COMMANDS: dict[tuple[str, ...], tuple[optspec.Opt, ...]] = {
    ("get",): (optspec.NAMESPACE, optspec.ALL_NAMESPACES, optspec.SELECTOR, *optspec.LIST),
    ("app", "list"): (
        optspec.APP_NAMESPACE, optspec.ALL_NAMESPACES, optspec.SELECTOR, *optspec.LIST),
    ("release", "list"): (optspec.RELEASE_APP, optspec.RELEASE_NAMESPACE,
                          optspec.ALL_NAMESPACES, optspec.LIMIT, *optspec.LIST),
    ("ci", "list"): (optspec.ALL_NAMESPACES, optspec.LIMIT, *optspec.LIST),
}  # fmt: skip
"""Each command's options this parser knows: the very declarations its click command uses
(``-w``, ``--server`` and the rest are left to click)."""
WORDS_ELSEWHERE = frozenset({"events", "event", "ev", "ns", "namespace", "namespaces"})
"""``get`` kinds with commands of their own."""


def parse(args: list[str]) -> tuple[tuple[str, ...], dict[str, Any], list[str]] | None:
    """``(command, options, positionals)``, or None for anything not handled here."""
    rest = list(args)
    core = False
    while rest and rest[0] == "--core":
        core, rest = True, rest[1:]
    command = next((c for c in COMMANDS if tuple(rest[: len(c)]) == c), None)
    if command is None:
        return None
    values = {name: o.dest for o in COMMANDS[command] if not o.flag for name in o.names}
    flags = {name: o.dest for o in COMMANDS[command] if o.flag for name in o.names}
    opts: dict[str, Any] = {"core": core}
    positional: list[str] = []
    words = rest[len(command) :]
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        if word in flags:
            opts[flags[word]] = True
            continue
        name, eq, value = word.partition("=")
        if eq and name.startswith("--") and name in values:
            opts[values[name]] = value
            continue
        if word in values:
            if i >= len(words):
                return None  # click says the option needs a value
            opts[values[word]] = words[i]
            i += 1
            continue
        if not word.startswith("--") and word[:2] in values:  # -owide, -nteam
            opts[values[word[:2]]] = word[2:]
            continue
        return None
    return command, opts, positional


def _local(core: bool) -> bool:
    """Whether the command reads the local store (no ``shipway login`` context applies)."""
    env_core = os.environ.get("SHIPWAY_CORE", "")
    if env_core and env_core not in ("1", "true"):
        return False  # a value only click knows how to read
    if core or env_core:
        return True
    if os.environ.get("SHIPWAY_SERVER"):
        return False
    from shipway.cli import config

    found = config.load().current_context()
    return not (found and found.server)


def run(args: list[str]) -> bool:
    """Answer ``args`` here (True), or leave it to click (False, nothing printed)."""
    parsed = parse(args)
    if parsed is None:
        return False
    command, opts, positional = parsed
    if command == ("get",) and (len(positional) != 1 or positional[0].lower() in WORDS_ELSEWHERE):
        return False
    if command != ("get",) and positional:
        return False
    limit = opts.get("limit", str(optspec.LIMIT.default))
    if not str(limit).lstrip("-").isdigit():
        return False
    if not _local(bool(opts.get("core"))):
        return False
    from shipway.cli import output
    from shipway.model.errors import ShipwayError

    try:
        _answer(command, opts, positional, int(limit))
    except ShipwayError as exc:
        output.fail(exc)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:  # the reader went away (``| head``): exit 1, silent, as click
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere
        raise SystemExit(1) from None
    except Exception as exc:  # a bug: one line, as ``shipway.cli.root.run`` says it
        if os.environ.get("SHIPWAY_TRACEBACK"):
            raise
        output.stderr.print(output.error_line(
            f"internal error: {type(exc).__name__}: {exc} (a bug in shipway; "
            "SHIPWAY_TRACEBACK=1 shows where)"))  # fmt: skip
        raise SystemExit(1) from None
    return True


def _answer(command: tuple[str, ...], opts: dict[str, Any], positional: list[str],
            limit: int) -> None:  # fmt: skip
    from shipway.cli import list_views as views
    from shipway.cli import output as out
    from shipway.model import namespaces, selectors
    from shipway.settings import load
    from shipway.store import reads

    options = out.Options(
        str(opts.get("output") or "table"), bool(opts.get("no_headers")),
        opts.get("sort_by") or None, opts.get("field_selector") or None)  # fmt: skip
    from shipway.cli import printers

    printers.parse_format(options.output)  # -o checked first, as click's OutputType does

    def reader() -> reads.Reader:  # opened after the arguments are checked, as the commands do
        return reads.open_reader(load())

    every = bool(opts.get("all_namespaces"))
    if command == ("get",):
        _get(reader, positional[0], opts.get("namespace") or None, every, opts, options)
    elif command == ("app", "list"):
        ns = None if every else (opts.get("namespace") or namespaces.ARGOCD)
        wanted = selectors.matcher(opts.get("selector"))
        apps = [r.to_object() for r in reads.list_kind(reader(), "Application", ns)]
        apps = [a for a in apps if wanted((a.get("metadata") or {}).get("labels") or {})]
        out.report(apps, options, table=views.app_table, name=views.app_name)
    elif command == ("release", "list"):
        app = opts.get("app") or None
        ns = None if every else (opts.get("namespace") or None)
        if app:
            app = namespaces.app_key(app, ns)
        found = [r.to_dict() for r in reads.list_releases(reader(), app=app, limit=limit,
                                                          namespace=ns)]  # fmt: skip
        table = out.rows_table(views.RELEASE_HEADERS, views.release_row)
        out.report(found, options, table=table, name="release", empty=views.nothing_in(ns))
    else:
        runs = reads.list_runs(reader(), limit=limit)
        out.report(runs, options, table=out.rows_table(views.RUN_HEADERS, views.run_row),
                   name="run", empty=views.NOTHING)  # fmt: skip


def _get(reader: Callable[[], Reader], kind: str, namespace: str | None, every: bool,
         opts: dict[str, Any], options: Options) -> None:  # fmt: skip
    """``get KIND`` as ``shipway.cli.resources.get`` lists it."""
    from shipway.cli import output as out
    from shipway.cli import scope
    from shipway.cli.list_views import nothing_found, resource_table
    from shipway.model import builtin, kindnames, namespaces, selectors
    from shipway.model.resources import Resource
    from shipway.store import reads

    canonical = kindnames.canonical_kind(kind)
    table = resource_table(canonical, every)
    wanted = selectors.matcher(opts.get("selector"))
    ns = scope.for_kind(canonical, "", namespace)
    if every or not namespaces.namespaced(canonical):
        listed = builtin.with_builtins(canonical, reads.list_kind(reader(), canonical))
    else:
        listed = reads.list_kind(reader(), canonical, ns)
    items = [r for r in listed if wanted(r.labels)]
    out.report(items, options, table=table, name=canonical.lower(), data=Resource.to_object,
               empty=nothing_found(canonical, ns, every))  # fmt: skip
