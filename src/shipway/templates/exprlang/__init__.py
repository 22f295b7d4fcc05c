"""expr-lang (github.com/expr-lang/expr), as its language definition documents it.

Pure: no I/O. Kargo's ``${{ }}`` expressions and Argo CD notification trigger
conditions (``when``, ``oncePer``) use it::

    prog = compile_expr("app.status.sync.status == 'Synced' and len(vars) > 0")
    prog.run({"app": app, "vars": {...}})            # -> True
    evaluate("quote(imageFrom(vars.repo).Tag)", env, funcs={"imageFrom": ..., "quote": ...})

``funcs`` are the caller's functions (Kargo's ``warehouse``, ``imageFrom``,
``quote`` ...); they override builtins of the same name. With ``strict=True``
an unknown name is an error (``unknown name foo``), else it is nil, as
when expr-lang runs without a typed environment. Errors are ``ExprError``.
``render_template`` renders strings with ``${{ expr }}`` segments, Kargo-style.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.templates.errors import ExprError
from shipway.templates.exprlang.builtins import BUILTINS
from shipway.templates.exprlang.evaluate import Evaluator, Fail
from shipway.templates.exprlang.parser import Node, parse
from shipway.templates.exprlang.template import render_template

__all__ = [
    "BUILTINS",
    "ExprError",
    "Fail",
    "Program",
    "compile_expr",
    "evaluate",
    "render_template",
]


@dataclass(slots=True)
class Program:
    """A compiled expression; ``run`` it against any number of environments."""

    source: str
    tree: Node
    funcs: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    strict: bool = False

    def run(self, env: Mapping[str, Any] | None = None) -> Any:
        ev = Evaluator(self.source, env or {}, self.funcs, BUILTINS, self.strict)
        try:
            return ev.ev(self.tree)
        except RecursionError:
            raise ExprError("expression too deeply nested", source=self.source, pos=0) from None


def compile_expr(
    source: str, *, funcs: Mapping[str, Callable[..., Any]] | None = None, strict: bool = False
) -> Program:
    """Parse ``source``; ``ExprError`` on a syntax error."""
    try:
        tree = parse(source)
    except RecursionError:
        raise ExprError("expression too deeply nested", source=source, pos=0) from None
    return Program(source, tree, dict(funcs or {}), strict)


def evaluate(
    source: str,
    env: Mapping[str, Any] | None = None,
    *,
    funcs: Mapping[str, Callable[..., Any]] | None = None,
    strict: bool = False,
) -> Any:
    """Compile and run once."""
    return compile_expr(source, funcs=funcs, strict=strict).run(env)
