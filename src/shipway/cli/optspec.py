"""One declaration of the options the quick reads parse and the click commands declare.

Click-free, so ``shipway.cli.quick`` can read it without loading click: each ``Opt``
names an option's spellings, where its value goes, whether it is a flag, and its help.
``click_option(spec)`` turns one into click's decorator (importing click then), so the
click commands (``get``, ``app list``, ``release list``, ``ci list`` and every command
with ``-o``...) and quick's parser (``quick.COMMANDS``) can never disagree on a spelling.
Touches nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Opt:
    """One option: ``names`` as typed (``-o``, ``--output``), ``dest`` the parameter.

    A plain class, not a NamedTuple or dataclass: this module is on the quick reads' path,
    and making those classes costs a millisecond there."""

    __slots__ = ("default", "dest", "flag", "help", "metavar", "names", "show_default")

    def __init__(self, names: tuple[str, ...], dest: str, help: str | None = None, *,
                 flag: bool = False, default: Any = None, show_default: bool = False,
                 metavar: str | None = None) -> None:  # fmt: skip
        self.names = names
        self.dest = dest
        self.help = help
        self.flag = flag
        self.default = default
        self.show_default = show_default
        self.metavar = metavar


def click_option(spec: Opt, **extra: Any) -> Callable[[F], F]:
    """``spec`` as click's ``option`` decorator; ``extra`` adds what only click has (a type)."""
    import click

    kwargs: dict[str, Any] = dict(extra)
    if spec.flag:
        kwargs["is_flag"] = True
    if spec.default is not None:
        kwargs["default"] = spec.default
    if spec.show_default:
        kwargs["show_default"] = True
    if spec.metavar is not None:
        kwargs["metavar"] = spec.metavar
    if spec.help is not None:
        kwargs["help"] = spec.help
    decorator: Callable[[F], F] = click.option(*spec.names, spec.dest, **kwargs)
    return decorator


OUTPUT = Opt(
    ("-o", "--output"),
    "output",
    "Output format: table, wide, json, yaml, name, jsonpath=TEMPLATE, "
    "jsonpath-file=FILE, jsonpath-as-json=TEMPLATE, custom-columns=SPEC, "
    "custom-columns-file=FILE.",
    default="table",
    show_default=True,
)
NO_HEADERS = Opt(("--no-headers",), "no_headers", "Print tables without headers.", flag=True)
SORT_BY = Opt(
    ("--sort-by",),
    "sort_by",
    "Sort by this field (a JSONPath, e.g. .metadata.creationTimestamp).",
    metavar="JSONPATH",
)
FIELD_SELECTOR = Opt(
    ("--field-selector",),
    "field_selector",
    "Field selector, e.g. status.sync.status=OutOfSync,metadata.name!=web.",
    metavar="SELECTOR",
)
LIST = (OUTPUT, NO_HEADERS, SORT_BY, FIELD_SELECTOR)
"""What every list takes (``shipway.cli.output.list_options``)."""

SELECTOR = Opt(
    ("-l", "--selector"),
    "selector",
    "Label selector: key=value, key!=value, key in (a,b), key notin (a,b), key, !key.",
)
NAMESPACE = Opt(
    ("-n", "--namespace", "--project"),
    "namespace",
    "The namespace, a Kargo Project (default: the kind's, see docs).",
)
APP_NAMESPACE = Opt(
    ("-n", "--namespace", "-N", "--app-namespace"),
    "namespace",
    "The Application's namespace (default argocd; or name it NS/NAME).",
)
ALL_NAMESPACES = Opt(("-A", "--all-namespaces"), "all_namespaces", "Every namespace.", flag=True)
LIMIT = Opt(("--limit",), "limit", default=50, show_default=True)
"""``release list`` and ``ci list``: at most this many, newest first."""
RELEASE_NAMESPACE = Opt(
    ("-n", "--namespace"),
    "namespace",
    "Only releases of Applications in this namespace (default: every namespace).",
)
RELEASE_APP = Opt(("--app",), "app", "Only releases of this application (NAME or NS/NAME).")
