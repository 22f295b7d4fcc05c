"""kubectl's JSONPath (``-o jsonpath=``, ``custom-columns``, ``--sort-by``), exactly.

Pure: data in, text out. No Python library implements kubectl's dialect
(client-go's ``util/jsonpath``: ``range``/``end``, text outside braces,
kubectl's printing of results and its errors), so it is written here:
``parser`` (the grammar) and ``evaluate`` (walking the data, printing).

    compile("{range .items[*]}{.metadata.name}{'\\n'}{end}").execute(data)

Errors are ``shipway.templates.errors.JSONPathError`` with kubectl's text.
"""

from __future__ import annotations

import re
from typing import Any

from shipway.templates.errors import JSONPathError
from shipway.templates.jsonpath import evaluate, parser

__all__ = ["JSONPath", "JSONPathError", "compile", "relaxed"]


class JSONPath:
    """A parsed template; ``find`` gives the results, ``execute`` the printed text."""

    def __init__(self, template: str) -> None:
        self.template = template
        try:
            self.root = parser.parse(template)
        except parser.ParseError as exc:
            raise JSONPathError(str(exc), template=template, phase="parse") from None

    def find(self, data: Any) -> list[list[Any]]:
        """The values of each action (kubectl's ``FindResults``)."""
        try:
            return evaluate.Evaluator(self.root).find(data)
        except evaluate.ExecError as exc:
            raise JSONPathError(str(exc), template=self.template, phase="exec") from None

    def execute(self, data: Any, as_json: bool = False) -> str:
        """The template's output on ``data`` (``as_json``: ``-o jsonpath-as-json``)."""
        return evaluate.print_results(self.find(data), as_json)


def compile(template: str) -> JSONPath:
    return JSONPath(template)


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed(expression: str) -> str:
    """kubectl's ``RelaxedJSONPathExpression``: ``a.b``, ``.a.b``, ``{a.b}`` → ``{.a.b}``."""
    if not expression:
        return expression
    m = _RELAXED.match(expression)
    if m is None:
        raise JSONPathError(
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or "
            "'{name1.name2}' or '{.name1.name2}'",
            template=expression,
            phase="parse",
        )
    return "{." + (m[1] or m[2]) + "}"
