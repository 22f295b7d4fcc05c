"""``-o``'s click parameter type (checked as kubectl checks it), for ``output_option``.

Apart from ``shipway.cli.output`` so that module loads without click (the quick reads,
``shipway.cli.quick``). May touch: nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from shipway.cli import printers
from shipway.cli.output import FORMATS

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class OutputType(click.ParamType):  # type: ignore[type-arg]
    """``-o``: checked as kubectl checks it (its error message), kept as the text given."""

    name = "format"

    def __init__(self, names: bool = True) -> None:
        self.names = names
        """Whether ``-o name`` is taken: False where the output is not named objects."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        fmt = printers.parse_format(str(value))  # raises InputError with kubectl's text
        if fmt.kind == "name" and not self.names:
            raise printers.without_names(str(value))
        return str(value)

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(f) for f in FORMATS
                if f.startswith(incomplete) and (self.names or f != "name")]  # fmt: skip

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "FORMAT"
